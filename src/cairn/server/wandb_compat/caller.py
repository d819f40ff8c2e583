"""Who sends a request of the wandb client: its API key, in HTTP Basic ``api:<key>`` (as
the client sends it) or a Bearer header, authenticated by the service. The GraphQL
endpoint and the facade's REST routes (file_stream, artifact file downloads) share it.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from cairn.errors import AuthenticationError
from cairn.service.accounts import authenticate

if TYPE_CHECKING:
    from fastapi import Request

    from cairn.service.caller import Caller


def _credentials(request: Request) -> str:
    """The API key of a request. Raises: AuthenticationError (none, or malformed)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            _user, _, key = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("malformed Basic credentials") from None
        if key:
            return key
    raise AuthenticationError("missing API key: send HTTP Basic 'api:<key>'")


def caller_of(request: Request, state: Any) -> Caller:
    """The caller. Raises: AuthenticationError (→ 401)."""
    return authenticate(state.store, _credentials(request))
