"""Lay out a lineage graph for drawing as SVG, in plain Python (no networkx, no numpy).

Each node goes in the column of its ``layer`` (its signed distance from the version;
columns left to right by layer, one per layer present). A column's nodes are ``ROW_H``
apart and centred on the tallest column. Their order starts by kind, then label, then
key, and a few barycentre sweeps improve it: left to right, then right to left, each
column is sorted by the mean row of its neighbours in the column just placed (a node
with none keeps its row; ties keep the current order). The order with the fewest
crossings between adjacent columns wins, the start included, so the sweeps never make
it worse. The result depends only on the graph's nodes and edges, not on their order.

Each edge runs between box sides: from the right side of its start to the left side of
its end, or left to right when the end lies in a column to the left (a run that used a
version downstream of the one drawn). The template draws boxes, labels (escaped by
Jinja) and links; nothing here emits markup.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.service.lineage_graph import Graph, Node

BOX_W = 190
BOX_H = 44
COL_W = 260
ROW_H = 72
MARGIN = 20
SWEEPS = 4

Key = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class Box:
    node: Node
    x: float
    y: float
    href: str
    current: bool


@dataclasses.dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclasses.dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    boxes: list[Box]
    edges: list[Edge]


def _key(node: Node) -> Key:
    return (node.kind, node.key)


def _rows(columns: list[list[Key]]) -> dict[Key, float]:
    """Each node's row, 0 the middle of its column (``-0.5``, ``0.5`` for two nodes)."""
    return {k: i - (len(col) - 1) / 2 for col in columns for i, k in enumerate(col)}


def _crossings(columns: list[list[Key]], edges: list[tuple[Key, Key]]) -> int:
    """How many pairs of edges between the same two adjacent columns cross."""
    rows = _rows(columns)
    where = {k: i for i, col in enumerate(columns) for k in col}
    spans: dict[int, list[tuple[float, float]]] = {}
    for a, b in edges:
        if abs(where[a] - where[b]) == 1:
            left, right = (a, b) if where[a] < where[b] else (b, a)
            spans.setdefault(where[left], []).append((rows[left], rows[right]))
    return sum(
        1
        for pairs in spans.values()
        for i, (l1, r1) in enumerate(pairs)
        for l2, r2 in pairs[i + 1 :]
        if (l1 - l2) * (r1 - r2) < 0
    )


def _order(columns: list[list[Key]], edges: list[tuple[Key, Key]]) -> list[list[Key]]:
    """``columns`` reordered by barycentre sweeps; the order with the fewest crossings."""
    where = {k: i for i, col in enumerate(columns) for k in col}
    neighbours: dict[Key, list[Key]] = {k: [] for col in columns for k in col}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    best, fewest = columns, _crossings(columns, edges)
    current = [list(col) for col in columns]
    for sweep in range(SWEEPS):
        if fewest == 0:
            break
        forward = sweep % 2 == 0
        indices = range(1, len(current)) if forward else range(len(current) - 2, -1, -1)
        for i in indices:
            fixed = i - 1 if forward else i + 1
            rows = _rows(current)
            centre = {}
            for k in current[i]:
                ys = [rows[n] for n in neighbours[k] if where[n] == fixed]
                centre[k] = sum(ys) / len(ys) if ys else rows[k]
            current[i] = sorted(current[i], key=centre.__getitem__)  # stable: ties keep order
        crossings = _crossings(current, edges)
        if crossings < fewest:
            best, fewest = [list(col) for col in current], crossings
    return best


def layout(graph: Graph, href: Callable[[Node], str]) -> Drawing:
    """Pixel positions of ``graph``'s nodes and edges; ``href(node)`` is each box's link.

    Boxes come column by column, top to bottom; edges in the order of
    ``sorted(graph.edges)``. Each edge must join two nodes of ``graph``.
    """
    by_key = {_key(n): n for n in graph.nodes}
    layers = sorted({n.layer for n in graph.nodes})
    column = {layer: i for i, layer in enumerate(layers)}
    columns: list[list[Key]] = [[] for _ in layers]
    for node in sorted(graph.nodes, key=lambda n: (n.kind, n.label, n.key)):
        columns[column[node.layer]].append(_key(node))
    edges = sorted(graph.edges)
    columns = _order(columns, edges)
    tallest = max((len(col) for col in columns), default=1)
    width = MARGIN * 2 + (max(len(layers), 1) - 1) * COL_W + BOX_W
    height = MARGIN * 2 + (tallest - 1) * ROW_H + BOX_H
    rows = _rows(columns)
    where = {
        k: (float(MARGIN + i * COL_W), round(MARGIN + (rows[k] + (tallest - 1) / 2) * ROW_H, 1))
        for i, col in enumerate(columns)
        for k in col
    }
    boxes = [
        Box(
            node=by_key[k],
            x=where[k][0],
            y=where[k][1],
            href=href(by_key[k]),
            current=by_key[k].layer == 0,
        )
        for col in columns
        for k in col
    ]
    drawn = []
    for start, end in edges:
        (x1, y1), (x2, y2) = where[start], where[end]
        if x2 > x1:  # rightwards: right side to left side
            sx, ex = x1 + BOX_W, x2
        elif x2 < x1:  # leftwards: left side to right side
            sx, ex = x1, x2 + BOX_W
        else:  # same column (not made by lineage_graph): right side to right side
            sx, ex = x1 + BOX_W, x2 + BOX_W
        drawn.append(Edge(sx, y1 + BOX_H / 2, ex, y2 + BOX_H / 2))
    return Drawing(width=width, height=height, boxes=boxes, edges=drawn)
