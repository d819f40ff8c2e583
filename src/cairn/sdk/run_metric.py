"""``run.define_metric``: wandb's metric definitions, checked.

wandb uses them to pick chart axes and summary aggregations. Cairn checks the arguments
as wandb does and returns the definition (wandb's ``Metric``, which "represents this call
but can otherwise be discarded"), but does not act on it: the summary keeps the last value
of each key whatever ``summary=`` says, and ``step_sync`` adds nothing to logged rows.
"""

from __future__ import annotations

import dataclasses

from cairn.errors import Error

SUMMARY_OPS = ("min", "max", "mean", "last", "copy", "none", "first")


@dataclasses.dataclass(frozen=True)
class Metric:
    """What ``define_metric`` returns (``wandb.sdk.wandb_metric.Metric``'s properties)."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] | None = None
    overwrite: bool | None = None


def define(
    name: str,
    step_metric: str | Metric | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    overwrite: bool | None = None,
) -> Metric:
    """A checked definition; ``step_sync`` defaults to True when ``step_metric`` is given.

    Raises ``cairn.errors.Error`` with wandb's messages: an empty name, an argument of the
    wrong type, a ``*`` anywhere but at the end of ``name``, an unknown summary operation.
    """
    if not name:
        raise Error("define_metric() requires non-empty name argument")
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    arguments: tuple[tuple[str, object, type], ...] = (
        ("name", name, str),
        ("step_metric", step_metric, str),
        ("step_sync", step_sync, bool),
        ("hidden", hidden, bool),
        ("summary", summary, str),
        ("overwrite", overwrite, bool),
    )
    for arg_name, value, expected in arguments:
        if value is not None and not isinstance(value, expected):
            raise Error(f"Unhandled define_metric() arg: {arg_name} type: {type(value).__name__}")
    stripped = name[:-1] if name.endswith("*") else name
    if "*" in stripped:
        raise Error(f"Unhandled define_metric() arg: name (glob suffixes only): {name}")
    ops: tuple[str, ...] | None = None
    if summary:
        ops = tuple(op.lower() for op in summary.split(","))
        for op in ops:
            if op not in SUMMARY_OPS:
                raise Error(f"Unhandled define_metric() arg: summary op: {op}")
    return Metric(
        name=name,
        step_metric=step_metric,
        step_sync=step_sync if step_sync is not None else step_metric is not None,
        hidden=hidden,
        summary=ops,
        overwrite=overwrite,
    )
