"""The web UI's defences: response headers, the session cookie and CSRF tokens.

- Every response carries a Content-Security-Policy that allows scripts, styles and
  images from this origin only (no inline script), ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin``.
- Signing in (server only) sets ``cairn_session``: the token of a server-side session
  (``cairn.service.ui_sessions``), signed with itsdangerous under a key derived from the
  server secret; HttpOnly, SameSite=Lax, Secure over HTTPS, expiring with the session.
  Signing out deletes the session on the server, so a copy of the cookie is worthless.
- Every form carries a CSRF token equal to the signed random ``cairn_csrf`` cookie
  (HttpOnly, SameSite=Strict); a POST whose token does not match is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeTimedSerializer

from cairn.service.ui_sessions import SESSION_SECONDS

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "cairn_session"
CSRF_COOKIE = "cairn_csrf"
CSRF_FIELD = "csrf_token"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Add ``HEADERS`` to every HTTP response (those a handler set are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class Signer:
    """Signs and checks the UI's cookies under a key derived from the app's secret."""

    def __init__(self, secret: bytes) -> None:
        key = hmac.new(secret, b"cairn-web-ui", hashlib.sha256).hexdigest()
        self._session = URLSafeTimedSerializer(key, salt="cairn-ui-session")
        self._csrf = URLSafeTimedSerializer(key, salt="cairn-ui-csrf")

    def session_value(self, token: str) -> str:
        return self._session.dumps({"s": token})

    def session_token(self, request: Request) -> str | None:
        """The session token of a validly signed, unexpired cookie, else None (whether
        the session is still open is the server's to say)."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._session.loads(raw, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        token = data.get("s") if isinstance(data, dict) else None
        return token if isinstance(token, str) else None

    def csrf_token(self, request: Request) -> tuple[str, bool]:
        """The visitor's CSRF token and whether it is new (to be set as a cookie)."""
        raw = request.cookies.get(CSRF_COOKIE)
        if raw:
            try:
                self._csrf.loads(raw)
                return raw, False
            except BadSignature:
                pass
        return self._csrf.dumps(secrets.token_urlsafe(24)), True

    def csrf_ok(self, request: Request, submitted: str | None) -> bool:
        """True when ``submitted`` is the visitor's valid CSRF cookie value."""
        raw = request.cookies.get(CSRF_COOKIE)
        if not raw or not submitted or not hmac.compare_digest(raw, submitted):
            return False
        try:
            self._csrf.loads(raw)
        except BadSignature:
            return False
        return True


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def safe_next(target: str | None) -> str:
    """A same-site path to go back to after signing in (anything else gives "/")."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
