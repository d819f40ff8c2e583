"""The browsing pages: home, entity, project, type, collection, version, lineage, run
(its config, summary and history charts), registries and search. URLs follow W&B's
(``/{entity}/{project}/artifacts/{type}/{name}/{version}``,
``/orgs/{org}/registry/{name}``) beside the reserved top-level routes; the
``entity`` convertor never matches a reserved name, so these pages cannot shadow an API.
Each page reads through ``cairn.service`` calls made for the visitor, which leave out or
refuse (as "not found") what it may not read.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cairn.core.registry import REGISTRY_PREFIX
from cairn.errors import NotFoundError
from cairn.protocol import HistoryQuery, VersionInfo
from cairn.server.ui.charts import history_charts
from cairn.server.ui.graph import layout
from cairn.server.ui.render import pretty_json, url_collection, url_run, url_version
from cairn.server.ui.web import UiRoute, VisitorDep, page
from cairn.service import (
    browse,
    collections,
    history,
    lineage,
    links,
    registries,
    rights,
    runs,
    versions,
)
from cairn.service.accounts import RESERVED_NAMES
from cairn.service.lineage_graph import RUN, Node, lineage_graph

PER_PAGE = 50
CHART_SAMPLES = 500  # history rows a run page charts, spread over the run (as W&B samples)
_RESERVED = sorted(RESERVED_NAMES | {"artifactsV2", "docs", "redoc", "openapi.json", "orgs"})


class EntityConvertor(Convertor[str]):
    """A first path segment that is not a reserved top-level route (DESIGN §5)."""

    regex = "(?!(?:" + "|".join(re.escape(n) for n in _RESERVED) + ")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("uientity", EntityConvertor())
router = APIRouter(route_class=UiRoute, include_in_schema=False)
E = "/{entity:uientity}"
V = E + "/{project}/artifacts/{type}/{name}/{version}"


def _pages(total: int, offset: int, limit: int) -> dict[str, Any]:
    return {
        "offset": offset,
        "limit": limit,
        "total": total,
        "prev": max(0, offset - limit) if offset > 0 else None,
        "next": offset + limit if offset + limit < total else None,
    }


@router.get("/", response_class=HTMLResponse)
def home(visitor: VisitorDep) -> Response:
    found = browse.list_projects(visitor.store, visitor.caller)
    grouped: dict[str, list[browse.ProjectRow]] = {}
    for row in found:
        if not row.project.startswith(REGISTRY_PREFIX):
            grouped.setdefault(row.entity, []).append(row)
    return page(visitor, "home.html", entities=grouped, registries=_registries(visitor))


def _registries(visitor: VisitorDep) -> list[Any]:
    return list(registries.list_registries(visitor.store, visitor.caller, None))


@router.get(E, response_class=HTMLResponse)
def entity_page(entity: str, visitor: VisitorDep) -> Response:
    found = browse.list_projects(visitor.store, visitor.caller, entity)
    if not found:
        raise NotFoundError(f"'{entity}' not found")
    return page(visitor, "entity.html", entity=entity, projects=found)


@router.get(E + "/{project}", response_class=HTMLResponse)
@router.get(E + "/{project}/artifacts", response_class=HTMLResponse)
def project_page(
    entity: str, project: str, visitor: VisitorDep, offset: int = Query(0, ge=0)
) -> Response:
    return _project(visitor, entity, project, None, offset)


@router.get(E + "/{project}/artifacts/{type}", response_class=HTMLResponse)
def type_page(
    entity: str, project: str, type: str, visitor: VisitorDep, offset: int = Query(0, ge=0)
) -> Response:
    return _project(visitor, entity, project, type, offset)


def _project(
    visitor: VisitorDep, entity: str, project: str, type_name: str | None, offset: int
) -> Response:
    store, caller = visitor.store, visitor.caller
    types = collections.list_types(store, caller, entity, project)
    if type_name is not None and type_name not in {t.name for t in types}:
        raise NotFoundError(f"artifact type '{type_name}' not found in '{entity}/{project}'")
    found = browse.collection_page(store, caller, entity, project, type_name, offset, PER_PAGE)
    return page(
        visitor,
        "project.html",
        entity=entity,
        project=project,
        types=types,
        current_type=type_name,
        collections=found.items,
        pages=_pages(found.total, offset, PER_PAGE),
        base=request_base(visitor),
    )


def request_base(visitor: VisitorDep) -> str:
    """The page's own path (for pager links), already percent-encoded."""
    return str(visitor.request.url.path)


@router.get(E + "/{project}/artifacts/{type}/{name}", response_class=HTMLResponse)
def collection_page(
    entity: str,
    project: str,
    type: str,
    name: str,
    visitor: VisitorDep,
    sort: str = "version",
    order: str = "desc",
    offset: int = Query(0, ge=0),
) -> Response:
    store, caller = visitor.store, visitor.caller
    info = collections.get_collection(store, caller, entity, project, name)
    if info.type != type:
        raise NotFoundError(f"artifact collection '{entity}/{project}/{name}' not found")
    found = browse.version_page(
        store, caller, entity, project, name, sort, order != "asc", offset, PER_PAGE
    )
    return page(
        visitor,
        "collection.html",
        entity=entity,
        project=project,
        collection=info,
        versions=found.items,
        sort=sort,
        order="asc" if order == "asc" else "desc",
        pages=_pages(found.total, offset, PER_PAGE),
        can_write=rights.may_write(store, caller, entity, project),
    )


def resolve(
    visitor: VisitorDep, entity: str, project: str, type: str, name: str, version: str
) -> VersionInfo:
    """The version a page path names, if the visitor may read it.

    Raises: NotFoundError (not readable, absent, or of another type).
    """
    info = versions.resolve_version(visitor.store, visitor.caller, entity, project, name, version)
    if info.type != type:
        raise NotFoundError(f"artifact '{entity}/{project}/{name}:{version}' not found")
    return info


@router.get(V, response_class=HTMLResponse)
def version_page(
    entity: str, project: str, type: str, name: str, version: str, visitor: VisitorDep
) -> Response:
    info = resolve(visitor, entity, project, type, name, version)
    store, caller = visitor.store, visitor.caller
    runs_of = lineage.lineage(store, caller, info.id)
    return page(
        visitor,
        "version.html",
        tab="overview",
        v=info,
        links=links.list_links(store, caller, info.id, 100),
        source_readable=rights.may_read(store, caller, info.source_entity, info.source_project),
        logged_by=runs_of.logged_by,
        used_by=runs_of.used_by,
        can_write=rights.may_write(store, caller, entity, project),
        snippet=f"{info.entity}/{info.project}/{info.collection}:v{info.version_index}",
    )


def _node_href(node: Node) -> str:
    if node.kind == RUN:
        return url_run(node.entity, node.project, node.name)
    return url_version(node.entity, node.project, node.type or "", node.name, f"v{node.index}")


@router.get(V + "/lineage", response_class=HTMLResponse)
def lineage_page(
    entity: str, project: str, type: str, name: str, version: str, visitor: VisitorDep
) -> Response:
    info = resolve(visitor, entity, project, type, name, version)
    graph = lineage_graph(visitor.store, visitor.caller, info.id)
    return page(
        visitor,
        "lineage.html",
        tab="lineage",
        v=info,
        drawing=layout(graph, _node_href),
        truncated=graph.truncated,
        can_write=False,
    )


@router.get(E + "/{project}/runs/{run_id}", response_class=HTMLResponse)
def run_page(entity: str, project: str, run_id: str, visitor: VisitorDep) -> Response:
    store, caller = visitor.store, visitor.caller
    run = runs.get_run(store, caller, entity, project, run_id)
    rows = history.read_history(
        store, caller, entity, project, run_id, HistoryQuery(samples=CHART_SAMPLES)
    )
    return page(
        visitor,
        "run.html",
        run=run,
        summary=_summary_items(run.summary),
        charts=history_charts(rows),
        logged=lineage.run_versions(store, caller, entity, project, run_id, False),
        used=lineage.run_versions(store, caller, entity, project, run_id, True),
    )


def _summary_items(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as ``(key, text)``: metrics by name, wandb's ``_`` keys after them."""
    keys = sorted(summary, key=lambda key: (key.startswith("_"), key))
    return [(key, _text(summary[key])) for key in keys]


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"  # a timestamp keeps its seconds
    if isinstance(value, dict | list):
        return pretty_json(value)
    return str(value)


@router.get("/ui/registries", response_class=HTMLResponse)
def registries_page(visitor: VisitorDep) -> Response:
    return page(visitor, "registries.html", registries=_registries(visitor))


@router.get("/orgs/{org}/registry/{registry}", response_class=HTMLResponse)
def registry_page(
    org: str,
    registry: str,
    visitor: VisitorDep,
    selectionPath: str | None = None,
    version: str | None = None,
) -> Response:
    store, caller = visitor.store, visitor.caller
    if org != store.organization:
        raise NotFoundError(f"organization '{org}' not found")
    project = REGISTRY_PREFIX + registry
    info = registries.get_registry(store, caller, None, registry)
    found = collections.list_collections(store, caller, store.organization, project, None)
    if selectionPath:
        chosen = next((c for c in found if selectionPath.endswith("/" + c.name)), None)
        if chosen is None:
            raise NotFoundError(f"'{selectionPath}' not found in registry '{registry}'")
        target = url_collection(store.organization, project, chosen.type, chosen.name)
        if version:
            target = url_version(store.organization, project, chosen.type, chosen.name, version)
        return RedirectResponse(target, status_code=303)
    return page(visitor, "registry.html", registry=info, collections=found, project=project)


@router.get("/ui/search", response_class=HTMLResponse)
def search_page(visitor: VisitorDep, q: str = "") -> Response:
    hits = []
    if q.strip():
        hits = browse.search(visitor.store, visitor.caller, q)
    return page(visitor, "search.html", q=q, hits=hits)
