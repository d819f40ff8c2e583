"""The lineage graph around a version: runs and artifacts a few hops upstream and downstream.

``service.lineage`` answers one step (who logged it, who used it); the UI draws a graph
of several. Upstream of a version is the run that logged it, upstream of a run the
versions it used; downstream the other way round. Each node gets its signed distance
(``layer``: negative upstream, 0 the version itself), so a layout can put it in a column.
One query per hop and direction, whatever the fan-out; ``max_nodes`` bounds the result.
Only runs and versions the caller may read are nodes, and the walk never passes through
another: a hidden run does not connect what it used to what it logged.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cairn.db.models import (
    STATE_COMMITTED,
    ArtifactType,
    Collection,
    Entity,
    Project,
    Run,
    RunInput,
    Version,
)
from cairn.service.authz import READ, Gate
from cairn.service.lookup import require_version

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

ARTIFACT = "artifact"
RUN = "run"


@dataclasses.dataclass(frozen=True)
class Node:
    """A run (``name`` its run id) or an artifact version (``name`` its collection,
    ``index`` its version in its source sequence)."""

    kind: str
    key: int
    entity: str
    project: str
    name: str
    type: str | None
    index: int | None
    label: str
    layer: int


@dataclasses.dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[tuple[tuple[str, int], tuple[str, int]]]  # (from, to) node ids
    truncated: bool


def _version_nodes(session: Session, ids: set[int], layer: int) -> list[Node]:
    if not ids:
        return []
    query = (
        select(Version.id, Version.index, Entity.name, Project.name, Collection.name)
        .add_columns(ArtifactType.name)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .join(ArtifactType, Version.type_id == ArtifactType.id)
        .where(Version.id.in_(ids), Version.state == STATE_COMMITTED)
    )
    return [
        Node(ARTIFACT, vid, e, p, c, t, index, f"{c}:v{index}", layer)
        for vid, index, e, p, c, t in session.execute(query)
    ]


def _run_nodes(session: Session, ids: set[int], layer: int) -> list[Node]:
    if not ids:
        return []
    query = (
        select(Run.id, Run.run_id, Run.name, Entity.name, Project.name)
        .join(Project, Run.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Run.id.in_(ids))
    )
    return [
        Node(RUN, pk, e, p, run_id, None, None, name or run_id, layer)
        for pk, run_id, name, e, p in session.execute(query)
    ]


def _step(session: Session, kind: str, keys: set[int], upstream: bool) -> list[tuple[int, int]]:
    """``(from key, neighbour key)`` pairs one hop from ``keys`` of ``kind``."""
    query: Any
    if kind == ARTIFACT and upstream:
        query = select(Version.id, Version.logged_by_run_id).where(
            Version.id.in_(keys), Version.logged_by_run_id.is_not(None)
        )
    elif kind == ARTIFACT:
        query = select(RunInput.version_id, RunInput.run_id).where(RunInput.version_id.in_(keys))
    elif upstream:
        query = select(RunInput.run_id, RunInput.version_id).where(RunInput.run_id.in_(keys))
    else:
        query = select(Version.logged_by_run_id, Version.id).where(
            Version.logged_by_run_id.in_(keys)
        )
    return [(int(a), int(b)) for a, b in session.execute(query)]


def _readable(gate: Gate, node: Node) -> bool:
    if node.kind == RUN:
        return gate.can(READ, node.entity, node.project)
    return gate.can_read_version(node.key)


def lineage_graph(
    store: Store, caller: Caller, version_id: str, hops: int = 4, max_nodes: int = 60
) -> Graph:
    """Runs and committed versions the caller may read, up to ``hops`` edges up- and
    downstream of a version.

    Raises:
        CommError: the version does not exist, or the caller cannot read it.
        ValueError: ``hops`` or ``max_nodes`` below 1.
    """
    if hops < 1 or max_nodes < 1:
        raise ValueError(f"hops and max_nodes must be at least 1, got {hops}, {max_nodes}")
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        start = require_version(session, version_id)
        gate.require_version(start, READ, version_id)
        nodes = {(ARTIFACT, n.key): n for n in _version_nodes(session, {start.id}, 0)}
        edges: set[tuple[tuple[str, int], tuple[str, int]]] = set()
        truncated = False
        for upstream in (True, False):
            frontier_kind, frontier = ARTIFACT, {start.id}
            for hop in range(1, hops + 1):
                if not frontier:
                    break
                other = RUN if frontier_kind == ARTIFACT else ARTIFACT
                pairs = _step(session, frontier_kind, frontier, upstream)
                layer = -hop if upstream else hop
                fresh = {b for _a, b in pairs if (other, b) not in nodes}
                room = max_nodes - len(nodes)
                if len(fresh) > room:
                    truncated = True
                    fresh = set(sorted(fresh)[:room])
                maker = _run_nodes if other == RUN else _version_nodes
                found = [n for n in maker(session, fresh, layer) if _readable(gate, n)]
                nodes.update({(other, n.key): n for n in found})
                for a, b in pairs:
                    if (other, b) in nodes and (frontier_kind, a) in nodes:
                        mine, theirs = (frontier_kind, a), (other, b)
                        edges.add((theirs, mine) if upstream else (mine, theirs))
                frontier_kind, frontier = other, {b for b in fresh if (other, b) in nodes}
    return Graph(nodes=list(nodes.values()), edges=sorted(edges), truncated=truncated)
