"""Request dependencies: the server state and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cairn.errors import AuthenticationError
from cairn.server.state import ServerState
from cairn.service.accounts import authenticate
from cairn.service.caller import Caller

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.cairn
    return state


def get_caller(
    state: Annotated[ServerState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of an authenticated route. Raises: AuthenticationError (→ 401)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing API key: send 'Authorization: Bearer <key>'")
    return authenticate(state.store, credentials.credentials)


StateDep = Annotated[ServerState, Depends(get_state)]
CallerDep = Annotated[Caller, Depends(get_caller)]
