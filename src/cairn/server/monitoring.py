"""The routes that need no API key (DESIGN §5): ``/health``, ``/ready`` and ``/metrics``.

- ``GET /health``: 200 while the process answers (a liveness probe).
- ``GET /ready``: 200 when the database and the blob store answer, else 503, saying which
  part does not (``cairn.service.readiness``; the reason is logged, not returned).
- ``GET /metrics``: the app's Prometheus metrics (``cairn.server.metrics``), served only
  to clients at the addresses ``--metrics-allow`` names (``metrics_access``); any other
  client gets 403, with or without a key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cairn.errors import AuthorizationError
from cairn.server import wire
from cairn.server.deps import StateDep
from cairn.server.metrics import CONTENT_TYPE
from cairn.server.metrics_access import allowed
from cairn.service.readiness import readiness

router = APIRouter()


@router.get("/health", response_model=wire.Health)
def health() -> Any:
    """The process answers."""
    return wire.Health(status="ok")


@router.get(
    "/ready",
    response_model=wire.Ready,
    responses={503: {"model": wire.Ready, "description": "the database or the store is down"}},
)
def ready(state: StateDep) -> Any:
    """Whether the database and the blob store answer: 200, else 503."""
    found = readiness(state.store)
    body = wire.Ready(
        status="ok" if found.ready else "unavailable",
        database="ok" if found.database else "unreachable",
        store="ok" if found.store else "unreachable",
    )
    return JSONResponse(body.model_dump(), status_code=200 if found.ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
        403: {"model": wire.ErrorBody, "description": "not an allowed address"},
    },
)
def metrics(request: Request, state: StateDep) -> Response:
    """The metrics of this app process, for the addresses ``--metrics-allow`` names.

    Raises: AuthorizationError (→ 403: the client's address is not allowed).
    """
    client = request.client.host if request.client is not None else None
    if not allowed(client, state.metrics_allow):
        raise AuthorizationError("/metrics is served only to the addresses --metrics-allow names")
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
