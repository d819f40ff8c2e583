"""``Run.log``'s steps, with wandb's semantics: which row a call lands in, and when a row
is written.

The run has a current step (0 for a new run, the step after the stored last one for a
resumed run) and a row being filled for it. A call adds its values to that row; then:

- ``step`` above the current step first writes the row being filled and moves to ``step``;
  ``step`` below it drops the whole call with a warning (wandb says the same);
- the row is written and the step advances when ``commit`` is True, or when neither
  ``step`` nor ``commit`` is given; otherwise it keeps filling (``commit=False``, or an
  explicit ``step`` without ``commit``), until a later call or ``finish`` writes it.

Every row gets wandb's ``_timestamp`` (the time of the call that filled it last, unless the
values give one) and ``_runtime`` (seconds since the run started in this process), and the
store adds ``_step``. One backend call per written row, none per call that only fills.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from cairn.core.run_values import to_stored
from cairn.sdk.run_values import MediaValueError, history_value

WriteRow = Callable[[int, dict[str, Any]], "int | None"]


def _warn_lower_step(step: int, current: int) -> None:
    warnings.warn(
        f"Tried to log to step {step} that is less than the current step {current}. Steps "
        "must be monotonically increasing, so this data will be ignored. See "
        "https://wandb.me/define-metric to log data out of order.",
        UserWarning,
        stacklevel=4,
    )


def row_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` converted for a history row; media values are left out with a warning.

    Raises: TypeError (``data`` not a mapping, a key not a string, a value JSON cannot
    hold), with wandb's messages.
    """
    if not isinstance(data, Mapping):
        raise TypeError("wandb.log must be passed a dictionary")
    if any(not isinstance(key, str) for key in data):
        raise TypeError("Key values passed to `wandb.log` must be strings.")
    values: dict[str, Any] = {}
    for key, value in data.items():
        try:
            values[key] = history_value(value)
        except MediaValueError as exc:
            warnings.warn(f"{exc}; '{key}' was left out of the row", UserWarning, stacklevel=4)
    values.pop("_step", None)
    return values


class History:
    """The step state of one live run (see module doc); ``write`` stores one row, or is
    None for a run that records nothing. Thread-safe."""

    def __init__(self, write: WriteRow | None, start_step: int) -> None:
        self._write = write
        self._step = start_step
        self._row: dict[str, Any] = {}
        self._started = time.time()
        self._lock = threading.Lock()

    @property
    def step(self) -> int:
        """The current step (wandb's ``run.step``)."""
        return self._step

    def log(self, data: Mapping[str, Any], step: int | None, commit: bool | None) -> None:
        """Add ``data`` to the current row and write it as the module doc says.

        Raises: TypeError (see ``row_values``; also for a ``step`` that is not an int),
        ValueError (a negative ``step``), what the store raises.
        """
        values = row_values(data)
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise TypeError(f"step must be an int, not {type(step).__name__}")
        if step is not None and step < 0:
            raise ValueError(f"step must be non-negative, got {step}")
        with self._lock:
            if step is not None:
                if step < self._step:
                    _warn_lower_step(step, self._step)
                    return
                if step > self._step:
                    self._flush()
                    self._step = step
            self._row.update(values)
            if "_timestamp" not in values:
                self._row["_timestamp"] = time.time()
            if (step is None and commit is None) or commit:
                self._flush()
                self._step += 1

    def flush(self) -> None:
        """Write the row being filled, if any (``finish`` calls it)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._row:
            return
        row = {"_runtime": round(time.time() - self._started, 6), **self._row}
        if self._write is not None:
            used = self._write(self._step, to_stored(row, "history row"))
            if used is None:  # another process wrote a later step of this run meanwhile
                warnings.warn(
                    f"The run's history already has a step after {self._step}; the row for "
                    f"step {self._step} was ignored.",
                    UserWarning,
                    stacklevel=4,
                )
        self._row = {}
