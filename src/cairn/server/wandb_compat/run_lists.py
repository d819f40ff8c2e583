"""Lists the client pages through: a project's runs (``api.runs(path)``: ``Project.runs``
and ``runCount``) and an entity's projects (``api.projects(entity)``: ``Query.models``).

Pages come from ``cairn.service`` calls made for the caller: ``runs.list_runs`` (W&B's
orders, its offset cursors, its run filters: the client sends them as JSON text, which
``run_filters.loads_filter`` parses) and ``browse.list_projects`` (the projects the caller
may read).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cairn.protocol import RunInfo
from cairn.server.wandb_compat.context import Ctx, Info, or_none, page
from cairn.service import browse, run_filters, runs

DEFAULT_ORDER = "-created_at"  # W&B lists the newest runs first unless told otherwise

# The objects of the lists, built by ``views`` (which builds the project that holds them).
RunObj = Callable[[Ctx, RunInfo], dict[str, Any]]
ProjectObj = Callable[[Ctx, str, str], dict[str, Any]]


def project_runs(
    ctx: Ctx, entity: str, project: str, run_obj: RunObj
) -> dict[str, Callable[..., Any]]:
    """``Project.runs`` and ``Project.runCount``, of the runs meeting ``filters``, each
    run built by ``run_obj``.

    Raises (as GraphQL errors): ValueError for a filter that is not JSON or that the
    service refuses, an unknown order or a cursor it did not give.
    """

    def listed(
        _info: Info,
        filters: str | None = None,
        after: str | None = None,
        first: int | None = None,
        order: str | None = None,
    ) -> Any:
        query = run_filters.loads_filter(filters, ctx.store.limits)
        per_page = first if first and first > 0 else ctx.max_page
        found = runs.list_runs(
            ctx.store, ctx.caller, entity, project, order or DEFAULT_ORDER, after, per_page, query
        )
        start = int(after) if after else 0
        edges = [
            {"node": run_obj(ctx, run), "cursor": str(start + i + 1)}
            for i, run in enumerate(found.items)
        ]
        end = edges[-1]["cursor"] if edges else after
        return {
            "totalCount": found.total,
            "edges": edges,
            "pageInfo": {"endCursor": end, "hasNextPage": found.next_cursor is not None},
        }

    def count(_info: Info, filters: str | None = None) -> int | None:
        query = run_filters.loads_filter(filters, ctx.store.limits)
        found = or_none(
            lambda: runs.list_runs(
                ctx.store, ctx.caller, entity, project, DEFAULT_ORDER, None, 1, query
            )
        )
        return None if found is None else found.total

    return {"runs": listed, "runCount": count}


def projects(ctx: Ctx, project_obj: ProjectObj) -> Callable[..., Any]:
    """``Query.models(entityName)``: the entity's projects the caller may read, by name
    (the first ``browse.MAX_PAGE`` of them), each built by ``project_obj``."""

    def resolve(
        _info: Info,
        entityName: str | None = None,
        after: str | None = None,
        first: int | None = None,
    ) -> Any:
        entity = entityName or ctx.caller.name
        found = browse.list_projects(ctx.store, ctx.caller, entity, browse.MAX_PAGE)
        chunk, page_info = page(found, after, first, ctx.max_page)
        return {
            "pageInfo": page_info,
            "edges": [
                {"node": {**project_obj(ctx, row.entity, row.project), "createdAt": row.created_at}}
                for row in chunk
            ],
        }

    return resolve
