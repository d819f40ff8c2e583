"""What a run is made of besides its artifacts: its id, its default name and its config.

W&B generates run ids of 8 lowercase letters and digits and readable names, and gives
``run.config`` attribute access; Cairn does the same so run code reads unchanged.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

_ID_ALPHABET = string.ascii_lowercase + string.digits
_FORBIDDEN_ID_CHARS = set("/\\#?%:\r\n")
_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
    "golden", "hardy", "jolly", "lively", "lucky", "misty", "noble", "proud", "quiet", "rapid",
    "rosy", "silver", "sunny", "swift", "vivid", "wild", "wise", "young",
)  # fmt: skip
_NOUNS = (
    "brook", "canyon", "cloud", "dawn", "dew", "dune", "field", "forest", "frost", "glade",
    "grove", "harbor", "hill", "lake", "meadow", "moon", "night", "ocean", "pine", "rain",
    "river", "sea", "sky", "snow", "star", "stone", "sun", "wave",
)  # fmt: skip


def generate_id(length: int = 8) -> str:
    """A random run id of lowercase letters and digits, as W&B generates them."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def generate_name() -> str:
    """A readable default run name such as ``swift-river-42`` (the number is random)."""
    adjective = secrets.choice(_ADJECTIVES)
    noun = secrets.choice(_NOUNS)
    return f"{adjective}-{noun}-{secrets.randbelow(999) + 1}"


def validate_run_id(run_id: str) -> str:
    if not run_id or len(run_id) > 128 or _FORBIDDEN_ID_CHARS & set(run_id):
        raise ValueError(
            f"Invalid run id {run_id!r}: it must be 1-128 characters and contain none of "
            "/ \\ # ? % : or newlines"
        )
    return run_id


class Config(dict[str, Any]):
    """A run's configuration: a dict whose keys also read and write as attributes.

    ``run.config.lr`` and ``run.config["lr"]`` are the same value. ``update`` accepts a
    mapping or any object with attributes (an ``argparse.Namespace``), as W&B's does.
    Values are stored in the run record when the run starts.
    """

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def update(  # type: ignore[override]
        self, d: object = None, allow_val_change: bool | None = None, **kwargs: Any
    ) -> None:
        """Merge ``d`` (a mapping or an object with attributes) and ``kwargs`` into the config."""
        super().update(_as_mapping(d))
        super().update(kwargs)

    def setdefaults(self, d: object) -> None:
        """Set the keys of ``d`` that are not set yet (W&B ``config.setdefaults``)."""
        for key, value in _as_mapping(d).items():
            self.setdefault(key, value)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (values JSON cannot hold are stored as their ``str``)."""
        result: dict[str, Any] = json.loads(json.dumps(dict(self), default=str))
        return result


def _as_mapping(value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    raise TypeError(f"config must be a mapping or an object with attributes, not {type(value)}")
