"""Settings: explicit arguments > ``CAIRN_*`` environment > listed ``WANDB_*`` fallbacks > defaults.

This is the only module that reads the environment. It is read when a run or an ``Api`` is
created (``Settings.load``), never at import, so tests and users can change ``CAIRN_DIR``
between calls. ``WANDB_API_KEY`` and ``WANDB_BASE_URL`` are deliberately never read: a W&B
key must not reach a Cairn server, nor a Cairn client reach W&B by accident.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
from collections.abc import Callable, Mapping
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


def wandb_import_api_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The W&B key ``cairn import wandb`` sends to the W&B server it copies from:
    ``CAIRN_IMPORT_WANDB_API_KEY``, never ``WANDB_API_KEY`` (a key set for wandb itself is
    not taken by a Cairn command unasked)."""
    return _env(os.environ if environ is None else environ, "CAIRN_IMPORT_WANDB_API_KEY")


def environ_without(*prefixes: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment without the variables whose names start with ``prefixes``:
    the base of a subprocess's environment that must not inherit them (the W&B exporter of
    ``cairn import wandb`` gets no ``WANDB_*`` or ``CAIRN_*`` but what it is given)."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if not k.startswith(prefixes)}


def _size_env(environ: Mapping[str, str], name: str) -> int | None:
    value = _env(environ, name)
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _seconds_env(environ: Mapping[str, str], name: str, default: float) -> float:
    """Seconds from ``name`` (a positive number), else ``default``. Raises ValueError."""
    value = _env(environ, name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e9:
        raise ValueError(f"Invalid {name} {value!r}: expected a positive number of seconds")
    return seconds


def _default_entity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in user) or "user"


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``cairn login`` keeps the server URL and key (0600): ``cairn/credentials.json``
    under ``$XDG_CONFIG_HOME`` (default ``~/.config``)."""
    env = os.environ if environ is None else environ
    root = _env(env, "XDG_CONFIG_HOME")
    return (Path(root) if root else Path.home() / ".config") / "cairn" / "credentials.json"


def _stored_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """``{"base_url", "api_key"}`` saved by ``cairn login`` ({} when none).

    Raises ValueError naming the file when it exists but is not such a JSON object.
    """
    path = credentials_path(environ)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read the credentials file '{path}': {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"Cannot read the credentials file '{path}': not a JSON object")
    return {k: v for k, v in data.items() if k in ("base_url", "api_key") and isinstance(v, str)}


def save_credentials(base_url: str, api_key: str, environ: Mapping[str, str] | None = None) -> Path:
    """Save ``base_url`` and ``api_key`` for later sessions (``cairn login``,
    ``cairn.login``): written whole to a temporary file, mode 0600, then renamed over
    ``credentials_path()``. Returns the path.

    Raises: OSError (the file cannot be written).
    """
    path = credentials_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"base_url": base_url, "api_key": api_key}, out)
        out.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def server_source(environ: Mapping[str, str] | None = None) -> str | None:
    """Where the server URL in effect comes from: ``"CAIRN_BASE_URL"``, the path of the
    credentials file ``cairn login`` saved, or None (no server: the embedded store).

    Raises ValueError naming the credentials file when it exists but cannot be read.
    """
    env = os.environ if environ is None else environ
    if _env(env, "CAIRN_BASE_URL"):
        return "CAIRN_BASE_URL"
    if _stored_credentials(env).get("base_url"):
        return str(credentials_path(env))
    return None


# Server mode's default entity is the API key's user; ``cairn.connect`` registers how to ask
# the server (config itself never touches the network).
ServerUserResolver = Callable[[str, "str | None"], str]
_server_user: ServerUserResolver | None = None


def set_server_user_resolver(resolver: ServerUserResolver | None) -> None:
    """Called by ``cairn.connect``: ``resolver(base_url, api_key)`` names the key's user."""
    global _server_user  # noqa: PLW0603 - cached once per process
    _server_user = resolver


def server_user(base_url: str, api_key: str | None) -> str:
    """The user ``api_key`` belongs to on the server at ``base_url`` (what checks a key).

    Raises: RuntimeError (``import cairn`` registers the resolver), and what the resolver
    raises: AuthenticationError (bad key), CommError (server unreachable).
    """
    if _server_user is None:
        raise RuntimeError("No server user resolver registered; import cairn first")
    return _server_user(base_url, api_key)


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
    # references (storage.references): S3-compatible endpoint and region, Azure account
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    azure_storage_connection_string: str | None = None
    azure_account_url: str | None = None
    # automations (embedded mode): hosts/networks webhooks may reach beyond public https
    # addresses, the timeout of one attempt and the first retry delay
    webhook_allow: tuple[str, ...] = ()
    webhook_timeout_seconds: float = 10.0
    webhook_backoff_seconds: float = 30.0

    @property
    def mode(self) -> str:
        """``"server"`` when a base URL is configured, else ``"embedded"``."""
        return "server" if self.base_url else "embedded"

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from ``overrides`` (field names), then the environment, then the
        credentials ``cairn login`` saved, then defaults.

        Raises ValueError (unknown override, bad size, unreadable credentials file); in server
        mode without an entity, whatever asking the server for the key's user raises
        (``AuthenticationError``, ``CommError``).
        """
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown settings: {', '.join(sorted(unknown))}")
        home = Path.home()
        stored = _stored_credentials(env)
        values: dict[str, Any] = {
            "cairn_dir": _env(env, "CAIRN_DIR") or home / ".cairn",
            "cache_dir": _env(env, "CAIRN_CACHE_DIR") or home / ".cache" / "cairn",
            "artifact_dir": _env(env, "CAIRN_ARTIFACT_DIR", "WANDB_ARTIFACT_DIR") or "artifacts",
            "entity": _env(env, "CAIRN_ENTITY", "WANDB_ENTITY"),
            "project": _env(env, "CAIRN_PROJECT", "WANDB_PROJECT") or DEFAULT_PROJECT,
            "organization": _env(env, "CAIRN_ORGANIZATION", "WANDB_ORGANIZATION")
            or LOCAL_ORGANIZATION,
            "base_url": _env(env, "CAIRN_BASE_URL") or stored.get("base_url"),
            "api_key": _env(env, "CAIRN_API_KEY"),
            "ui_url": _env(env, "CAIRN_UI_URL"),
            "silent": (_env(env, "CAIRN_SILENT", "WANDB_SILENT") or "").lower() in _TRUE,
            "cache_max_bytes": _size_env(env, "CAIRN_CACHE_MAX_BYTES"),
            "s3_endpoint_url": _env(
                env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_S3_ENDPOINT_URL"
            ),
            "s3_region": _env(env, "AWS_REGION", "AWS_DEFAULT_REGION"),
            "azure_storage_connection_string": _env(env, "AZURE_STORAGE_CONNECTION_STRING"),
            "azure_account_url": _env(env, "CAIRN_AZURE_ACCOUNT_URL"),
            "webhook_allow": tuple(
                (_env(env, "CAIRN_WEBHOOK_ALLOW") or "").replace(",", " ").split()
            ),
            "webhook_timeout_seconds": _seconds_env(env, "CAIRN_WEBHOOK_TIMEOUT", 10.0),
            "webhook_backoff_seconds": _seconds_env(env, "CAIRN_WEBHOOK_BACKOFF", 30.0),
        }
        values.update(given)
        server = values["base_url"]
        # Artifact.url: the server serves its own UI; the embedded store has `cairn ui`.
        values["ui_url"] = values["ui_url"] or server or DEFAULT_UI_URL
        saved_for = (stored.get("base_url") or "").rstrip("/")
        if values["api_key"] is None and server and saved_for == server.rstrip("/"):
            values["api_key"] = stored.get("api_key")  # a saved key goes to its own server only
        if values["entity"] is None:  # server mode: the key's user; embedded: the OS user
            resolve = _server_user if server else None
            values["entity"] = resolve(server, values["api_key"]) if resolve else _default_entity()
        for key in ("cairn_dir", "cache_dir", "artifact_dir"):
            values[key] = Path(values[key]).expanduser().absolute()
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
