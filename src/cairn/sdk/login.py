"""``cairn.login``: wandb's ``login`` signature over Cairn's credentials.

The embedded store needs no credentials: without a server (no ``host``, no
``CAIRN_BASE_URL``, nothing saved by ``cairn login``) ``login`` does nothing and answers
True, and a key it is given goes nowhere. With a server, the key is checked against it
(``verify``) and the server URL and key are saved where ``cairn login`` saves them
(``cairn.settings.credentials_path()``), for this process and later ones, when either was
passed explicitly. ``CAIRN_BASE_URL`` and ``CAIRN_API_KEY`` still win over the saved pair.

A key that is not a Cairn API key (Cairn's start with ``cairn_``: wandb scripts often pass
``os.environ["WANDB_API_KEY"]``) is never sent to a server (DESIGN §2): it is ignored with
a warning. ``relogin``, ``force``, ``timeout`` and ``referrer`` have no meaning here and
are accepted for compatibility; nothing is ever prompted (the SDK never prints).
"""

from __future__ import annotations

import logging
import warnings

from cairn.errors import UsageError
from cairn.sdk.run import current_run
from cairn.settings import Settings, save_credentials, server_user

logger = logging.getLogger(__name__)

# The prefix of every key a Cairn server issues (``cairn.service.accounts.KEY_PREFIX``).
_CAIRN_KEY_PREFIX = "cairn_"


def login(
    key: str | None = None,
    relogin: bool | None = None,
    host: str | None = None,
    force: bool | None = None,
    timeout: int | None = None,
    verify: bool = True,
    referrer: str | None = None,
    prompt: bool = True,
    anonymous: object = None,
) -> bool:
    """Log in to the Cairn server ``host`` (default: the configured one); see module doc.

    Returns True when the session has what it needs afterwards (always, embedded); False
    when called during a run (wandb: it has no effect then) or, with ``prompt=False``,
    when no key is known.

    Raises:
        ValueError: ``host`` is not an http(s) URL.
        UsageError: a server but no Cairn key to use, and ``prompt`` is True.
        AuthenticationError: the server refused the key (``verify``); nothing is saved.
        CommError: the server could not be reached.
    """
    del relogin, force, timeout, referrer
    if anonymous is not None:
        warnings.warn(
            "The anonymous parameter to wandb.login() has no effect and will be removed in "
            "future versions.",
            UserWarning,
            stacklevel=2,
        )
    if current_run() is not None:
        warnings.warn("Calling wandb.login() after wandb.init() has no effect.", stacklevel=2)
        return False
    settings = Settings.load({"entity": "login"})  # no entity lookup: that would need a key
    configured = (settings.base_url or "").rstrip("/") or None
    base = host.strip().rstrip("/") if host else configured
    if base is None:
        logger.debug("login: embedded store, nothing to log in to")
        return True
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"host must be an http(s) URL, got {host!r}")
    if key is not None and not key.startswith(_CAIRN_KEY_PREFIX):
        warnings.warn(
            "The key passed to login() is not a Cairn API key (they start with 'cairn_'); it "
            "was ignored and not sent to the server.",
            UserWarning,
            stacklevel=2,
        )
        key = None
    api_key = key or (settings.api_key if base == configured else None)
    if not api_key:
        if not prompt:
            return False
        raise UsageError(
            f"No API key for {base}: pass login(key=...) a Cairn API key, set CAIRN_API_KEY, "
            f"or run `cairn login --base-url {base}`"
        )
    if verify:
        server_user(base, api_key)
    if key is not None or host is not None:
        save_credentials(base, api_key)
    return True
