"""Settings: explicit arguments > ``CAIRN_*`` environment > listed ``WANDB_*`` fallbacks > defaults.

This is the only module that reads the environment. It is read when a run or an ``Api`` is
created (``Settings.load``), never at import, so tests and users can change ``CAIRN_DIR``
between calls. ``WANDB_API_KEY`` and ``WANDB_BASE_URL`` are deliberately never read: a W&B
key must not reach a Cairn server, nor a Cairn client reach W&B by accident.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_PROJECT = "uncategorized"
DEFAULT_UI_URL = "http://127.0.0.1:8421"
LOCAL_ORGANIZATION = "local"

_TRUE = {"1", "true", "yes", "on"}


def _env(environ: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


_SIZE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}


def parse_size(text: str) -> int:
    """Bytes in ``text``: an integer with an optional decimal unit (``10GB``, ``500 mb``, ``1024``).

    Units are decimal as in ``wandb artifact cache cleanup``: KB = 1000 B, ..., PB; case does
    not matter. Raises ``ValueError`` naming ``text`` for anything else.
    """
    stripped = text.strip().upper()
    number = stripped.rstrip("KMGTPB ")
    unit = stripped[len(number) :].strip()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _SIZE_UNITS or not 0 <= value < 1e21 or not number:
        raise ValueError(f"Invalid size {text!r}: expected a number with B, KB, MB, GB, TB or PB")
    return int(value * _SIZE_UNITS[unit])


def _size_env(environ: Mapping[str, str], name: str) -> int | None:
    value = _env(environ, name)
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _default_entity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in user) or "user"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything Cairn needs to know about where state lives and who is acting."""

    cairn_dir: Path
    cache_dir: Path
    artifact_dir: Path
    entity: str
    project: str
    organization: str
    base_url: str | None = None
    api_key: str | None = None
    ui_url: str = DEFAULT_UI_URL
    silent: bool = False
    cache_max_bytes: int | None = None  # None: 10 GB or 10% of the disk (storage.cache)
    # references (storage.handlers): S3-compatible endpoint and region, Azure account
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    azure_storage_connection_string: str | None = None
    azure_account_url: str | None = None

    @property
    def mode(self) -> str:
        """``"server"`` when a base URL is configured, else ``"embedded"``."""
        return "server" if self.base_url else "embedded"

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from ``overrides`` (field names), then the environment, then defaults."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown settings: {', '.join(sorted(unknown))}")
        home = Path.home()
        values: dict[str, Any] = {
            "cairn_dir": _env(env, "CAIRN_DIR") or home / ".cairn",
            "cache_dir": _env(env, "CAIRN_CACHE_DIR") or home / ".cache" / "cairn",
            "artifact_dir": _env(env, "CAIRN_ARTIFACT_DIR", "WANDB_ARTIFACT_DIR") or "artifacts",
            "entity": _env(env, "CAIRN_ENTITY", "WANDB_ENTITY") or _default_entity(),
            "project": _env(env, "CAIRN_PROJECT", "WANDB_PROJECT") or DEFAULT_PROJECT,
            "organization": _env(env, "CAIRN_ORGANIZATION", "WANDB_ORGANIZATION")
            or LOCAL_ORGANIZATION,
            "base_url": _env(env, "CAIRN_BASE_URL"),
            "api_key": _env(env, "CAIRN_API_KEY"),
            "ui_url": _env(env, "CAIRN_UI_URL") or DEFAULT_UI_URL,
            "silent": (_env(env, "CAIRN_SILENT", "WANDB_SILENT") or "").lower() in _TRUE,
            "cache_max_bytes": _size_env(env, "CAIRN_CACHE_MAX_BYTES"),
            "s3_endpoint_url": _env(
                env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_S3_ENDPOINT_URL"
            ),
            "s3_region": _env(env, "AWS_REGION", "AWS_DEFAULT_REGION"),
            "azure_storage_connection_string": _env(env, "AZURE_STORAGE_CONNECTION_STRING"),
            "azure_account_url": _env(env, "CAIRN_AZURE_ACCOUNT_URL"),
        }
        values.update(given)
        for key in ("cairn_dir", "cache_dir", "artifact_dir"):
            values[key] = Path(values[key]).expanduser().absolute()
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
