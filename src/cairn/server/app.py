"""The Cairn server: a FastAPI app over ``cairn.service`` (DESIGN §1, §5).

``create_app(config)`` opens the database (applying migrations) and the directory blob
store, and mounts the routes: ``GET /health``, ``/ready`` and ``/metrics`` (no key,
``monitoring``), the REST API under ``/api/v1/`` (``Authorization: Bearer <key>``), and
the signed transfer URLs under ``/blobs/``. Other top-level names (DESIGN §5) are
reserved: no entity can take them. Request bodies of the API are capped at
``config.limits.max_body_bytes``; uploads at their declared length and signed size
(``bodies``). Every request is measured, outermost, by ``instrument.Instrument``. While
the app runs, expired versions are swept in the background (``ttl_sweeper``) and large
uploads to an S3 store are checked there (``upload_checker``); both stop before the
database is closed on shutdown.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from cairn.server import (
    api_admin,
    api_artifacts,
    api_automations,
    api_blob_batch_download,
    api_blob_batch_upload,
    api_blobs,
    api_replication,
    errors,
    monitoring,
    ui,
    wandb_compat,
)
from cairn.server.instrument import Instrument
from cairn.server.state import ServerConfig, ServerState
from cairn.server.ttl_sweeper import TtlSweeper
from cairn.server.upload_checker import UploadChecker
from cairn.server.webhook_sender import WebhookSender

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_VERSION = "1"


class BodyLimit:
    """Refuse (413) API request bodies over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/blobs/", "/storage/wandb/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = errors.error_response(413, "too_large", f"request body over {self.limit} bytes")
        await response({"type": "http"}, _no_receive, send)


class _TooLarge(Exception):
    pass


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(config: ServerConfig) -> FastAPI:
    """The server app for ``config``.

    Raises: sqlalchemy errors (database unusable), StoreError (store unusable),
    ValueError (an unusable ``metrics_allow`` entry or log format).
    """
    state = ServerState(config)
    sweeper = TtlSweeper(state.store, config.ttl_sweep_interval_seconds, state.metrics)
    checker = UploadChecker(state.store)
    sender = WebhookSender(state.store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper.start()
        checker.start()
        sender.start()
        try:
            yield
        finally:
            await asyncio.to_thread(sender.stop)
            await asyncio.to_thread(checker.stop)
            await asyncio.to_thread(sweeper.stop)
            state.close()

    app = FastAPI(
        title="Cairn",
        version=API_VERSION,
        description="Cairn server REST API: artifacts, runs, registries, accounts.",
        lifespan=lifespan,
    )
    app.state.cairn = state
    app.state.ttl_sweeper = sweeper
    app.state.upload_checker = checker
    errors.install(app)

    app.include_router(monitoring.router)
    app.include_router(api_artifacts.router)
    app.include_router(api_replication.router)
    app.include_router(api_blobs.router)
    app.include_router(api_blob_batch_upload.router)
    app.include_router(api_blob_batch_download.router)
    app.include_router(api_admin.router)
    app.include_router(api_automations.router)
    app.include_router(api_blobs.transfers)
    wandb_compat.install(app)
    ui.mount(app, ui.server_source(state))  # the web UI, last: its routes take /{entity}
    app.add_middleware(BodyLimit, limit=config.limits.max_body_bytes)
    # Added last, so outermost: it sees every request and the final status of each.
    app.add_middleware(Instrument, metrics=state.metrics, log_requests=config.log_format == "json")
    return app
