"""The composition root: the only module that knows every backend.

``cairn/__init__.py`` imports it so that ``protocol.open_backend`` can open the embedded
store or a server (``CAIRN_BASE_URL``). Implementations are imported only when first
opened, which keeps ``import cairn`` fast. It also tells ``Settings`` who the default
entity is in server mode: the API key's user (``GET /api/v1/whoami``), asked once per
server and key in a process.
"""

from __future__ import annotations

import threading

from cairn.protocol import Backend, register_backend
from cairn.settings import Settings, set_server_user_resolver

_users: dict[tuple[str, str | None], str] = {}
_users_lock = threading.Lock()


def _open_embedded(settings: Settings) -> Backend:
    from cairn.service.backend import EmbeddedBackend  # noqa: PLC0415 - a backend is loaded when opened: `import cairn` stays fast

    return EmbeddedBackend(settings)


def _open_server(settings: Settings) -> Backend:
    from cairn.remote.backend import RemoteBackend  # noqa: PLC0415 - a backend is loaded when opened: `import cairn` stays fast

    return RemoteBackend(settings)


def _server_user(base_url: str, api_key: str | None) -> str:
    """The user of ``api_key`` on the server at ``base_url``.

    Raises: AuthenticationError (bad key), CommError (server unreachable), ValueError.
    """
    key = (base_url, api_key)
    with _users_lock:
        known = _users.get(key)
    if known is not None:
        return known
    from cairn.remote.http import ApiClient  # noqa: PLC0415 - a backend is loaded when opened: `import cairn` stays fast

    client = ApiClient(base_url, api_key)
    try:
        user = str(client.call("GET", "/whoami").json()["user"])
    finally:
        client.close()
    with _users_lock:
        _users[key] = user
    return user


register_backend("embedded", _open_embedded)
register_backend("server", _open_server)
set_server_user_resolver(_server_user)
