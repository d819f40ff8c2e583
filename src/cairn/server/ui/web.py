"""Per-request plumbing of the web UI: who is visiting, rendering a page, error pages.

``UiRoute`` turns the service's errors into HTML pages with the API's status codes
(not readable or absent → 404, read-only → 403, bad input → 400, a blob missing from
the store → 404) and an expired or missing session into a redirect to ``/login``.
``visitor`` is the dependency every page takes: who is calling (the signed-in user, or
``LOCAL`` for ``cairn ui``) and its CSRF token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cairn.errors import AuthenticationError, AuthorizationError, CommError
from cairn.server.ui.render import environment
from cairn.server.ui.security import Signer, set_csrf_cookie
from cairn.server.ui.source import UiSource
from cairn.service.caller import LOCAL, Caller
from cairn.service.resources import Store
from cairn.service.ui_sessions import session_caller


class SignInRequired(Exception):
    """The page needs a signed-in visitor and there is none."""


class CsrfRefused(Exception):
    """A form came without the visitor's CSRF token."""


@dataclasses.dataclass(frozen=True)
class Visitor:
    request: Request
    source: UiSource
    caller: Caller
    signer: Signer
    csrf: str
    csrf_new: bool

    @property
    def store(self) -> Store:
        return self.source.store

    def check_csrf(self, submitted: str | None) -> None:
        """Raises: CsrfRefused when ``submitted`` is not this visitor's token."""
        if not self.signer.csrf_ok(self.request, submitted):
            raise CsrfRefused


def ui_source(request: Request) -> UiSource:
    source: UiSource = request.app.state.cairn_ui
    return source


def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.cairn_ui_signer
    return signer


def get_visitor(request: Request) -> Visitor:
    """The visitor of a page. Raises: SignInRequired (server, no valid session)."""
    source = ui_source(request)
    signer = signer_of(request)
    caller = LOCAL
    if source.signin:
        token = signer.session_token(request)
        if token is None:
            raise SignInRequired
        try:
            caller = session_caller(source.store, token)
        except AuthenticationError:
            raise SignInRequired from None
    csrf, new = signer.csrf_token(request)
    return Visitor(request, source, caller, signer, csrf, new)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


def _render(
    request: Request, visitor: Visitor | None, template: str, status: int, context: dict[str, Any]
) -> HTMLResponse:
    source = ui_source(request)
    caller = None if visitor is None or not source.signin else visitor.caller
    html = (
        environment()
        .get_template(template)
        .render(
            visitor=visitor,
            user=None if caller is None else caller.name,
            signin=source.signin,
            csrf=None if visitor is None else visitor.csrf,
            organization=source.store.organization,
            request_path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    if visitor is not None and visitor.csrf_new:
        set_csrf_cookie(request, response, visitor.csrf)
    return response


def page(visitor: Visitor, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` for ``visitor`` (sets its CSRF cookie when new)."""
    return _render(visitor.request, visitor, template, status, context)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, None, "error.html", status, {"status": status, "message": message})


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)


class UiRoute(APIRoute):
    """An HTML route: service errors become error pages, no session a sign-in redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return to_login(request)
            except CsrfRefused:
                return error_page(request, 403, "This form has expired: reload the page.")
            except AuthenticationError:
                return to_login(request)
            except AuthorizationError as exc:
                return error_page(request, 403, str(exc))
            except CommError as exc:
                return error_page(request, 404, str(exc))
            except (ValueError, TypeError) as exc:
                return error_page(request, 400, str(exc))
            except FileNotFoundError:
                message = "The bytes of this file are missing from the store (run `cairn fsck`)."
                return error_page(request, 404, message)

        return guarded
