"""Where the web UI reads from: the store, and how it signs its cookies.

One UI serves two places: ``cairn server`` (many users, each signed in with an API key
and a server-side session) and ``cairn ui`` over the embedded store (one person on
loopback: no sign-in, the store's owner, ``LOCAL``). Either way every page reads through
``cairn.service`` calls made for the visitor, which decide what it may see and change;
``UiSource`` only says which store and whether visitors sign in.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cairn.server.ui.manifests import ManifestCache

if TYPE_CHECKING:
    from cairn.service.resources import Store


@dataclasses.dataclass
class UiSource:
    """``store``: the store pages read (for a server, its one store); ``secret``: signs
    cookies; ``signin``: whether visitors must sign in (the server) or not (``cairn ui``)."""

    store: Store
    secret: bytes
    signin: bool
    manifests: ManifestCache = dataclasses.field(default_factory=ManifestCache)
