"""A caller's run filter (``Api().runs(path, filters=...)``), checked and compiled with the
store's limits (``cairn.core.run_filters``), and the values of a stored run it tests.

A transport that receives a filter as JSON text (REST's ``filters`` query parameter, the
wandb facade's ``filters`` argument) parses it with ``loads_filter``, under the same bound
on nesting, so both refuse alike what the service would.

Bounds (DESIGN §5, ``cairn.service.limits``): a filter nests at most
``max_metadata_depth`` levels, as a run's config does, and holds at most ``max_page``
terms (each condition, operator and list item), as one list argument of a request; a
``$regex`` pattern is at most ``MAX_PATTERN_CHARS`` characters.

``$regex`` runs on RE2 (``google-re2``, in the ``server`` extra; W&B's syntax), whose
matching takes linear time whatever the pattern, so no caller's pattern can hang a
server thread. Without RE2 installed, Python's ``re`` serves ``LOCAL`` only (the user's own
process: the embedded store) and ``$regex`` is refused for every other caller.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from cairn.core.metadata import loads_json
from cairn.core.run_filters import (
    Lookup,
    Pattern,
    RegexCompiler,
    RunFilter,
    compile_filter,
    run_lookup,
)
from cairn.service.wire_models import iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.db.models import Run
    from cairn.service.caller import Caller
    from cairn.service.limits import Limits

NEEDS_RE2 = (
    "$regex in run filters needs RE2 on this server: install google-re2 "
    "(pip install 'cairn[server]')"
)


@functools.cache
def _re2() -> Any | None:
    """The ``re2`` module (google-re2), or None when it is not installed."""
    try:
        import re2  # noqa: PLC0415 - re2 comes with the server extra
    except ImportError:
        return None
    return re2


def regex_compiler(caller: Caller) -> RegexCompiler:
    """How ``$regex`` patterns are compiled for ``caller`` (see module doc); the compiler
    raises ValueError for a pattern it refuses."""
    engine = _re2()
    if engine is not None:
        return functools.partial(_compile_re2, engine)
    if caller.local:
        return _compile_re
    return _refuse


def _compile_re2(engine: Any, pattern: str) -> Pattern:
    options = engine.Options()
    options.log_errors = False  # refusals are the caller's ValueError, not stderr lines
    options.never_capture = True  # searched, never read: no submatch state
    try:
        compiled: Pattern = engine.compile(pattern, options)
    except engine.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"Invalid $regex {pattern!r} (RE2 syntax): {reason}") from None
    return compiled


def _compile_re(pattern: str) -> Pattern:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"Invalid $regex {pattern!r}: {exc}") from None


def _refuse(pattern: str) -> Pattern:
    raise ValueError(NEEDS_RE2)


def checked_filter(filters: object, caller: Caller, limits: Limits) -> RunFilter | None:
    """``filters`` checked and compiled for ``caller`` (None or ``{}``: no filter, None).

    Raises: ValueError for a filter ``cairn.core.run_filters.compile_filter`` refuses, over
    the bounds of the module doc, or with a pattern that cannot be compiled (or ``$regex``
    at all, for a remote caller of a server without RE2).
    """
    if filters is None or (isinstance(filters, dict) and not filters):
        return None
    return compile_filter(
        filters, regex_compiler(caller), limits.max_metadata_depth, limits.max_page
    )


def loads_filter(text: object, limits: Limits) -> Any:
    """The run filter a transport received as JSON ``text`` (None or ``""``: none, None),
    parsed with its nesting checked first (``max_metadata_depth``, as ``checked_filter``
    bounds it), so no text can make the parser recurse; ``list_runs`` checks the rest.

    Raises: ValueError for ``text`` that is not a string, not JSON, or nested deeper than
    ``limits.max_metadata_depth``.
    """
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"Run filters are sent as JSON text, not {type(text).__name__}")
    try:
        return loads_json(text, limits.max_metadata_depth, "A run filter")
    except json.JSONDecodeError as exc:
        raise ValueError(f"A run filter is JSON text: {exc}") from None


def stored_run(entity: str, project: str) -> Callable[[Run], Lookup]:
    """The lookup of a stored run of ``entity/project`` (the values ``RunInfo`` gives)."""

    def lookup(run: Run) -> Lookup:
        columns = {
            "id": run.run_id,
            "name": run.name,
            "state": run.state,
            "job_type": run.job_type,
            "created_at": iso(run.created_at),
            "entity": entity,
            "project": project,
            "group": run.group_name,
        }
        return run_lookup(columns, run.config or {}, run.summary or {})

    return lookup
