"""The web UI's forms: sign in and out (server only), add or remove aliases and tags.

Every POST checks the visitor's CSRF token first. Signing in checks the API key once and
opens a server-side session (``cairn.service.ui_sessions``) whose token the cookie
carries; signing out closes it on the server. Edits go through
``service.edits.edit_version`` for the visitor, which checks what the API's
``PATCH /versions/{id}`` checks: read the version, write the collection it is seen through.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cairn.errors import AuthenticationError
from cairn.protocol import VersionEdit
from cairn.server.ui.pages import V, resolve
from cairn.server.ui.render import environment, url_version
from cairn.server.ui.security import (
    CSRF_FIELD,
    clear_session_cookie,
    safe_next,
    set_csrf_cookie,
    set_session_cookie,
)
from cairn.server.ui.web import UiRoute, VisitorDep, signer_of, ui_source
from cairn.service import edits, ui_sessions

router = APIRouter(route_class=UiRoute, include_in_schema=False)
FormText = Annotated[str, Form()]


def _login_form(request: Request, next_path: str, error: str | None, status: int) -> Response:
    signer = signer_of(request)
    csrf, new = signer.csrf_token(request)
    html = (
        environment()
        .get_template("login.html")
        .render(
            visitor=None,
            user=None,
            signin=True,
            csrf=csrf,
            organization=ui_source(request).store.organization,
            request_path="/login",
            next_path=next_path,
            error=error,
        )
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    if new:
        set_csrf_cookie(request, response, csrf)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if not ui_source(request).signin:
        return RedirectResponse("/", status_code=303)
    return _login_form(request, safe_next(next), None, 200)


@router.post("/login")
def login(
    request: Request,
    api_key: FormText,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    source = ui_source(request)
    signer = signer_of(request)
    target = safe_next(next)
    if not source.signin:
        return RedirectResponse("/", status_code=303)
    if not signer.csrf_ok(request, csrf_token):
        return _login_form(request, target, "This form has expired: try again.", 403)
    try:
        token, _caller = ui_sessions.open_session(source.store, api_key.strip())
    except AuthenticationError:
        return _login_form(request, target, "Invalid or revoked API key.", 401)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, signer.session_value(token))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    signer = signer_of(request)
    if not signer.csrf_ok(request, csrf_token):
        return _login_form(request, "/", "This form has expired: try again.", 403)
    source = ui_source(request)
    token = signer.session_token(request)
    if source.signin and token is not None:
        ui_sessions.close_session(source.store, token)
    response = RedirectResponse("/login" if source.signin else "/", status_code=303)
    clear_session_cookie(response)
    return response


def _edit(
    visitor: VisitorDep,
    path: tuple[str, str, str, str, str],
    csrf_token: str,
    aliases: tuple[list[str], list[str]] = ([], []),
    tags: tuple[list[str], list[str]] = ([], []),
) -> Response:
    visitor.check_csrf(csrf_token)
    entity, project, type_name, name, version = path
    info = resolve(visitor, entity, project, type_name, name, version)
    edits.edit_version(
        visitor.store,
        visitor.caller,
        info.id,
        VersionEdit(
            entity=entity,
            project=project,
            collection=name,
            description=info.description,
            metadata=info.metadata,
            aliases_to_add=aliases[0],
            aliases_to_remove=aliases[1],
            tags_to_add=tags[0],
            tags_to_remove=tags[1],
        ),
    )
    target = url_version(entity, project, type_name, name, f"v{info.version_index}")
    return RedirectResponse(target, status_code=303)


@router.post(V + "/aliases")
def edit_aliases(
    entity: str,
    project: str,
    type: str,
    name: str,
    version: str,
    visitor: VisitorDep,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    add: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
) -> Response:
    change = ([add.strip()] if add.strip() else [], [remove] if remove else [])
    return _edit(visitor, (entity, project, type, name, version), csrf_token, aliases=change)


@router.post(V + "/tags")
def edit_tags(
    entity: str,
    project: str,
    type: str,
    name: str,
    version: str,
    visitor: VisitorDep,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    add: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
) -> Response:
    change = ([add.strip()] if add.strip() else [], [remove] if remove else [])
    return _edit(visitor, (entity, project, type, name, version), csrf_token, tags=change)
