"""The rules of an automation as pure functions: its event filter and its payload template.

Filters are the MongoDB-like documents wandb's ``ArtifactEvent.alias.eq("prod")`` and
friends produce (``{"$or": [{"$and": [{"alias": {"$eq": "prod"}}]}]}``). An event offers
fields (``alias``, ``tag``), each a list of strings: a comparison holds when any of the
values satisfies it (``$ne``/``$nin``: none does), as MongoDB compares against arrays.
Supported operators: ``$and $or $nor $not $eq $ne $in $nin $regex $contains $exists``;
anything else is refused when the automation is saved (``check_filter``).

Payload templates are JSON in which ``${variable}`` inside strings is replaced by the
event's value (W&B's variables: ``event_type``, ``event_author``, ``artifact_version``,
``artifact_version_string``, ``artifact_collection_name``, ``project_name``,
``entity_name``, plus ``event_id``, ``alias``, ``tag``). Substitution happens inside the
parsed strings, so a value can never break out of its string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Compiles a ``$regex`` pattern into an object with ``search`` (``re.compile``, or RE2's
# on a server: see ``cairn.service.run_filters.regex_compiler``); ValueError refuses it.
Compile = Callable[[str], Any]

LOGICAL = ("$and", "$or", "$nor")
COMPARISONS = ("$eq", "$ne", "$in", "$nin", "$regex", "$contains", "$exists", "$not")
FIELDS = ("alias", "tag")
VARIABLES = (
    "event_type",
    "event_author",
    "event_id",
    "artifact_version",
    "artifact_version_string",
    "artifact_collection_name",
    "project_name",
    "entity_name",
    "alias",
    "tag",
)
_VARIABLE = re.compile(r"\$\{([a-z_]+)\}")
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_REGEX = 256


def check_filter(document: Any, compile_regex: Compile = re.compile) -> dict[str, Any]:
    """The filter ``document`` (a JSON object, or its JSON text; empty: always true), its
    patterns compiled by ``compile_regex`` to check them.

    Raises: ValueError (not JSON, an unknown operator or field, a bad or refused regex).
    """
    if document is None or document == "":
        return {}
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            raise ValueError("Invalid event filter: not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("Invalid event filter: expected a JSON object")
    _check_node(document, compile_regex)
    return document


def _check_node(node: Any, compile_regex: Compile) -> None:
    if not isinstance(node, dict):
        raise ValueError("Invalid event filter: expected an object at every level")
    for key, value in node.items():
        if key in LOGICAL:
            if not isinstance(value, list):
                raise ValueError(f"Invalid event filter: {key} takes a list")
            for child in value:
                _check_node(child, compile_regex)
        elif key == "$not":
            _check_node(value, compile_regex)
        elif key in FIELDS:
            _check_condition(key, value, compile_regex)
        else:
            raise ValueError(
                f"Invalid event filter: unknown field or operator {key!r} "
                f"(fields: {', '.join(FIELDS)})"
            )


def _check_condition(field: str, condition: Any, compile_regex: Compile) -> None:
    if not isinstance(condition, dict):
        return  # {"alias": "prod"}: equality
    for op, value in condition.items():
        if op not in COMPARISONS:
            raise ValueError(f"Invalid event filter: unknown operator {op!r} on {field!r}")
        if op == "$regex":
            if not isinstance(value, str) or len(value) > MAX_REGEX:
                raise ValueError("Invalid event filter: $regex takes a short string")
            try:
                compile_regex(value)
            except re.error as exc:
                raise ValueError(f"Invalid event filter: bad regex {value!r}: {exc}") from None
        if op == "$not":
            _check_condition(field, value, compile_regex)


def matches(
    document: Mapping[str, Any],
    fields: Mapping[str, Sequence[str]],
    compile_regex: Compile = re.compile,
) -> bool:
    """Whether an event with ``fields`` satisfies the (checked) filter ``document``."""
    for key, value in document.items():
        if key == "$and" and not all(matches(c, fields, compile_regex) for c in value):
            return False
        if key == "$or" and value and not any(matches(c, fields, compile_regex) for c in value):
            return False
        if key == "$nor" and any(matches(c, fields, compile_regex) for c in value):
            return False
        if key == "$not" and matches(value, fields, compile_regex):
            return False
        if key in FIELDS and not _holds(value, list(fields.get(key, ())), compile_regex):
            return False
    return True


def _holds(condition: Any, values: list[str], compile_regex: Compile) -> bool:
    if not isinstance(condition, dict):
        return condition in values
    for op, arg in condition.items():
        if op == "$eq" and arg not in values:
            return False
        if op == "$ne" and arg in values:
            return False
        if op == "$in" and not any(v in arg for v in values):
            return False
        if op == "$nin" and any(v in arg for v in values):
            return False
        if op == "$regex":
            pattern = compile_regex(arg)
            if not any(pattern.search(v) for v in values):
                return False
        if op == "$contains" and not any(str(arg) in v for v in values):
            return False
        if op == "$exists" and bool(values) != bool(arg):
            return False
        if op == "$not" and _holds(arg, values, compile_regex):
            return False
    return True


def check_template(template: str | None) -> str | None:
    """The payload template (None or empty: the default payload, all variables).

    Raises: ValueError (not JSON, over 64 KiB, or naming an unknown variable).
    """
    if not template:
        return None
    if len(template.encode()) > MAX_TEMPLATE_BYTES:
        raise ValueError("Invalid payload template: over 64 KiB")
    try:
        json.loads(template)
    except ValueError:
        raise ValueError("Invalid payload template: not JSON") from None
    unknown = sorted(set(_VARIABLE.findall(template)) - set(VARIABLES))
    if unknown:
        raise ValueError(
            f"Invalid payload template: unknown variable ${{{unknown[0]}}} "
            f"(known: {', '.join(VARIABLES)})"
        )
    return template


def render(template: str | None, variables: Mapping[str, str]) -> str:
    """The JSON body for an event: the template with its variables filled (a missing one
    becomes an empty string), or every variable as one object when there is none."""
    if not template:
        return json.dumps(dict(variables), sort_keys=True)

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _VARIABLE.sub(lambda m: variables.get(m.group(1), ""), value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {fill(key): fill(item) for key, item in value.items()}
        return value

    return json.dumps(fill(json.loads(template)))
