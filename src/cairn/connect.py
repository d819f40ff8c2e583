"""The composition root: the only module that knows every backend.

``cairn/__init__.py`` imports it so that ``protocol.open_backend`` can open the embedded
store (and, later, a server). Implementations are imported only when first opened, which
keeps ``import cairn`` fast.
"""

from __future__ import annotations

from cairn.config import Settings
from cairn.errors import UsageError
from cairn.protocol import Backend, register_backend


def _open_embedded(settings: Settings) -> Backend:
    from cairn.service.backend import EmbeddedBackend

    return EmbeddedBackend(settings)


def _open_server(settings: Settings) -> Backend:
    raise UsageError(
        f"CAIRN_BASE_URL is set ({settings.base_url}) but this Cairn has no server client yet; "
        "unset CAIRN_BASE_URL to use the embedded store"
    )


register_backend("embedded", _open_embedded)
register_backend("server", _open_server)
