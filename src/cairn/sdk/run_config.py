"""A run's config (``run.config``, ``cairn.config``): wandb's ``Config``, stored with the run.

It behaves as ``wandb.sdk.wandb_config.Config`` does: keys read and write as items and as
attributes; ``keys()``, ``items()`` and ``as_dict()`` leave out keys starting with ``_``
(iteration does not); keys lose leading and trailing ``-`` (``--lr`` is ``lr``); values are
converted as wandb converts them (``cairn.sdk.run_values.config_value``); giving a key
another value needs ``update(..., allow_val_change=True)``, else ``ConfigError``. It is not
a ``dict`` (no ``len``, no ``del``), as wandb's is not; ``dict(config)`` copies it.

Every change reaches the store at once, one call per ``update``/``setdefaults`` or per
item set, through the callback the run installs; a change the store refuses changes
nothing here either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cairn.errors import ConfigError
from cairn.sdk.run_values import config_value

Persist = Callable[[dict[str, Any]], None]


def parse_config(params: object) -> dict[str, Any]:
    """The keys and values of ``params``: a mapping, a ``Config``, or an object with
    attributes (``argparse.Namespace``, absl-style flag holders), as wandb accepts.

    Raises: TypeError for anything else (wandb's message; config files are not read).
    """
    if params is None:
        return {}
    if isinstance(params, Config):
        return dict(params._as_dict())
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, str) or not hasattr(params, "__dict__"):
        raise TypeError("config must be a dict or have a __dict__ attribute.")
    return {k: v for k, v in vars(params).items() if not k.startswith("_")}


class Config:
    """See the module doc. ``persist`` (installed by the run) stores changed keys."""

    def __init__(self, persist: Persist | None = None) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_persist", persist)

    def _set_persist(self, persist: Persist | None) -> None:
        object.__setattr__(self, "_persist", persist)

    # ------------------------------------------------------------------ reads

    def keys(self) -> list[str]:
        return [k for k in self._items if not k.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def as_dict(self) -> dict[str, Any]:
        """A plain dict of the keys ``keys()`` lists."""
        return dict(self.items())

    def _as_dict(self) -> dict[str, Any]:
        """Every key, private ones included (the dict itself, as wandb's)."""
        items: dict[str, Any] = self._items
        return items

    def get(self, *args: Any) -> Any:
        return self._items.get(*args)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_items"][key]
        except KeyError:
            raise AttributeError(f"{self.__class__!r} object has no attribute {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __repr__(self) -> str:
        return str(self.as_dict())

    # ------------------------------------------------------------------ changes

    def __setitem__(self, key: str, value: Any) -> None:
        self._apply({key: value}, allow_val_change=None)

    def __setattr__(self, key: str, value: Any) -> None:
        self._apply({key: value}, allow_val_change=None)

    def update(self, d: object = None, allow_val_change: bool | None = None) -> None:
        """Set the keys of ``d`` (see ``parse_config``), all or none of them.

        Raises: ConfigError (a key would change without ``allow_val_change``), TypeError
        (bad ``d`` or value), what the store raises.
        """
        self._apply(parse_config(d), allow_val_change)

    def setdefaults(self, d: object) -> None:
        """Set the keys of ``d`` that are not set yet."""
        self._apply({k: v for k, v in parse_config(d).items() if k not in self._items}, True)

    def persist(self) -> None:
        """Store every key again (wandb's ``Config.persist``)."""
        if self._persist is not None and self._items:
            self._persist(dict(self._items))

    def _load(self, values: Mapping[str, Any]) -> None:
        """Take stored values as they are (a resumed run's config), without storing them."""
        self._items.update(values)

    def _apply(self, values: dict[str, Any], allow_val_change: bool | None) -> None:
        sanitized: dict[str, Any] = {}
        for key, value in values.items():
            if not isinstance(key, str):
                raise TypeError(f"Config keys must be strings, not {type(key).__name__}")
            name = key.strip("-")
            clean = config_value(value)
            if not allow_val_change and name in self._items and self._items[name] != clean:
                raise ConfigError(
                    f'Attempted to change value of key "{name}" from {self._items[name]} to '
                    f"{clean}\nIf you really want to do this, pass allow_val_change=True to "
                    "config.update()"
                )
            sanitized[name] = clean
        if not sanitized:
            return
        if self._persist is not None:
            self._persist(sanitized)
        self._items.update(sanitized)
