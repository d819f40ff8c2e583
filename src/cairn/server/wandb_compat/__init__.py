"""The W&B-compatible facade: what the unmodified official ``wandb`` client talks to.

Pointing the client at a Cairn server (``WANDB_BASE_URL=<server>``, ``WANDB_API_KEY=<a
Cairn key>``) makes it send GraphQL to ``POST /graphql``, stream run files to
``/files/<entity>/<project>/<run>/file_stream`` and move bytes through the URLs the
answers hand out. This package translates all of that into the same ``cairn.service``
calls the REST API makes (DESIGN §1): no domain rule lives here. ``install(app)`` mounts
the routes; the schema is ``schema.graphql``, written by hand from what the client sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.server.wandb_compat import artifact_files, endpoint, transfers

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount ``/graphql``, ``file_stream``, the facade's transfer routes and its file
    download fallback (``/artifactsV2/...``) on ``app``."""

    app.include_router(endpoint.router)
    app.include_router(transfers.router)
    app.include_router(artifact_files.router)
