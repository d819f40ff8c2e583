"""The browsing pages: home, entity, project, type, collection, version, lineage, run,
registries and search. URLs follow W&B's (``/{entity}/{project}/artifacts/{type}/{name}/
{version}``, ``/orgs/{org}/registry/{name}``) beside the reserved top-level routes; the
``entity`` convertor never matches a reserved name, so these pages cannot shadow an API.
Each page checks what the visitor may read first, then reads through ``cairn.service``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cairn.errors import NotFoundError
from cairn.protocol import VersionInfo
from cairn.server.ui.graph import layout
from cairn.server.ui.render import url_collection, url_run, url_version
from cairn.server.ui.web import UiRoute, VisitorDep, page
from cairn.service import browse, collections, lineage, links, registries, runs, versions
from cairn.service.accounts import RESERVED_NAMES
from cairn.service.lineage_graph import RUN, Graph, Node, lineage_graph
from cairn.service.registries import REGISTRY_PREFIX

PER_PAGE = 50
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
    access = visitor.access
    found = [p for p in browse.list_projects(access.store) if access.can_read(p.entity, p.project)]
    grouped: dict[str, list[browse.ProjectRow]] = {}
    for row in found:
        if not row.project.startswith(REGISTRY_PREFIX):
            grouped.setdefault(row.entity, []).append(row)
    return page(visitor, "home.html", entities=grouped, registries=_registries(visitor))


def _registries(visitor: VisitorDep) -> list[Any]:
    access = visitor.access
    return [
        r
        for r in registries.list_registries(access.store, None)
        if access.can_read(access.store.organization, r.full_name)
    ]


@router.get(E, response_class=HTMLResponse)
def entity_page(entity: str, visitor: VisitorDep) -> Response:
    access = visitor.access
    found = [
        p
        for p in browse.list_projects(access.store)
        if p.entity == entity and access.can_read(p.entity, p.project)
    ]
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
    visitor.access.require_read(entity, project)
    store = visitor.access.store
    types = collections.list_types(store, entity, project)
    if type_name is not None and type_name not in {t.name for t in types}:
        raise NotFoundError(f"artifact type '{type_name}' not found in '{entity}/{project}'")
    found = browse.collection_page(store, entity, project, type_name, offset, PER_PAGE)
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
    visitor.access.require_read(entity, project)
    store = visitor.access.store
    info = collections.get_collection(store, entity, project, name)
    if info.type != type:
        raise NotFoundError(f"artifact collection '{entity}/{project}/{name}' not found")
    found = browse.version_page(
        store, entity, project, name, sort, order != "asc", offset, PER_PAGE
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
        can_write=visitor.access.can_write(entity, project),
    )


def resolve(
    visitor: VisitorDep, entity: str, project: str, type: str, name: str, version: str
) -> VersionInfo:
    """The version a page path names, if the visitor may read it.

    Raises: NotFoundError (not readable, absent, or of another type).
    """
    visitor.access.require_read(entity, project)
    info = versions.resolve_version(visitor.access.store, entity, project, name, version)
    if info.type != type:
        raise NotFoundError(f"artifact '{entity}/{project}/{name}:{version}' not found")
    return info


@router.get(V, response_class=HTMLResponse)
def version_page(
    entity: str, project: str, type: str, name: str, version: str, visitor: VisitorDep
) -> Response:
    info = resolve(visitor, entity, project, type, name, version)
    access = visitor.access
    store = access.store
    linked = [
        v for v in links.list_links(store, info.id, 100) if access.can_read(v.entity, v.project)
    ]
    source_readable = access.can_read(info.source_entity, info.source_project)
    runs_of = lineage.lineage(store, info.id)
    return page(
        visitor,
        "version.html",
        tab="overview",
        v=info,
        links=linked,
        source_readable=source_readable,
        logged_by=runs_of.logged_by
        if runs_of.logged_by
        and access.can_read(runs_of.logged_by.entity, runs_of.logged_by.project)
        else None,
        used_by=[r for r in runs_of.used_by if access.can_read(r.entity, r.project)],
        can_write=access.can_write(entity, project),
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
    access = visitor.access
    graph = lineage_graph(access.store, info.id)
    visible = [n for n in graph.nodes if n.layer == 0 or access.can_read(n.entity, n.project)]
    keys = {(n.kind, n.key) for n in visible}
    graph = Graph(
        nodes=visible,
        edges=[e for e in graph.edges if e[0] in keys and e[1] in keys],
        truncated=graph.truncated,
    )
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
    access = visitor.access
    access.require_read(entity, project)
    run = runs.get_run(access.store, entity, project, run_id)

    def readable(found: list[VersionInfo]) -> list[VersionInfo]:
        return [v for v in found if access.can_read(v.entity, v.project)]

    return page(
        visitor,
        "run.html",
        run=run,
        logged=readable(lineage.run_versions(access.store, entity, project, run_id, False)),
        used=readable(lineage.run_versions(access.store, entity, project, run_id, True)),
    )


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
    access = visitor.access
    store = access.store
    if org != store.organization:
        raise NotFoundError(f"organization '{org}' not found")
    project = REGISTRY_PREFIX + registry
    access.require_read(store.organization, project)
    info = registries.get_registry(store, None, registry)
    found = collections.list_collections(store, store.organization, project, None)
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
    access = visitor.access
    hits = []
    if q.strip():
        hits = [h for h in browse.search(access.store, q) if access.can_read(h.entity, h.project)]
    return page(visitor, "search.html", q=q, hits=hits)
