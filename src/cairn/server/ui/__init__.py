"""The web UI: pages to browse, inspect and curate artifacts (issue 10).

``mount(app, source)`` adds the UI to a FastAPI app: ``cairn server`` mounts it over its
``ServerState`` (visitors sign in with an API key), ``create_ui_app(store)`` builds the
app of ``cairn ui`` over the embedded store (one person on loopback, no sign-in). Pages
are Jinja2 templates rendered server-side over ``cairn.service``; ``static/`` holds the
one stylesheet and one small script, served from this origin only.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.staticfiles import StaticFiles

from cairn.server.ui import actions, automation_pages, files, pages
from cairn.server.ui.security import SecurityHeaders, Signer
from cairn.server.ui.source import UiSource

if TYPE_CHECKING:
    from cairn.server.state import ServerState
    from cairn.service.resources import Store

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


def mount(app: FastAPI, source: UiSource) -> None:
    """Add the UI's routes, static files and response headers to ``app``."""

    app.state.cairn_ui = source
    app.state.cairn_ui_signer = Signer(source.secret)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(actions.router)
    app.include_router(files.router)
    app.include_router(automation_pages.router)
    app.include_router(pages.router)
    app.add_middleware(SecurityHeaders)


def server_source(state: ServerState) -> UiSource:
    """The UI source of a server's ``ServerState`` (visitors must sign in)."""
    return UiSource(store=state.store, secret=state.config.secret, signin=True)


def create_ui_app(store: Store) -> FastAPI:
    """The app of ``cairn ui``: the UI alone over an embedded ``store``, answering only
    requests addressed to a loopback host name (no DNS rebinding onto it)."""
    app = FastAPI(title="Cairn UI", docs_url=None, redoc_url=None, openapi_url=None)
    source = UiSource(store=store, secret=secrets.token_bytes(32), signin=False)
    mount(app, source)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_HOSTS)
    return app
