"""The automations page of a project or registry: its automations (event, scope, filter,
webhook, on or off) and the last deliveries of each with their attempts, read through
``cairn.service.automations`` for the visitor (who sees only what it may read)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from cairn.server.ui.web import UiRoute, VisitorDep, page
from cairn.service import automations, collections
from cairn.service.registries import scope

router = APIRouter(route_class=UiRoute, include_in_schema=False)
DELIVERIES_SHOWN = 10


@router.get("/{entity:uientity}/{project}/automations", response_class=HTMLResponse)
def automations_page(entity: str, project: str, visitor: VisitorDep) -> Response:
    store, caller = visitor.store, visitor.caller
    owner = scope(store, entity, project)
    collections.list_types(store, caller, owner, project)  # NotFoundError: not readable
    found = [
        a for a in automations.list_automations(store, caller, owner) if a.spec.project == project
    ]
    rows = [
        {
            "info": a,
            "filter": json.dumps(a.spec.filter) if a.spec.filter else "",
            "deliveries": automations.list_deliveries(store, caller, a.id, DELIVERIES_SHOWN),
        }
        for a in found
    ]
    return page(visitor, "automations.html", entity=owner, project=project, rows=rows)
