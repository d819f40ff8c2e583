"""Lay out a lineage graph for drawing as SVG.

networkx's ``multipartite_layout`` places each node in the column of its layer (its
signed distance from the version) and spreads a column's nodes vertically; this module
only scales those coordinates to pixels and routes each edge between box sides. The
template draws boxes, labels (escaped by Jinja) and links; nothing here emits markup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from cairn.service.lineage_graph import Graph, Node

BOX_W = 190
BOX_H = 44
COL_W = 260
ROW_H = 72
MARGIN = 20


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


def layout(graph: Graph, href: Callable[[Node], str]) -> Drawing:
    """Pixel positions of ``graph``'s nodes and edges; ``href(node)`` is each box's link."""
    import networkx as nx

    g = nx.DiGraph()
    for node in graph.nodes:
        g.add_node((node.kind, node.key), layer=node.layer)
    g.add_edges_from(graph.edges)
    layers = sorted({node.layer for node in graph.nodes})
    tallest = max(sum(1 for n in graph.nodes if n.layer == layer) for layer in layers)
    width = MARGIN * 2 + (len(layers) - 1) * COL_W + BOX_W
    height = MARGIN * 2 + (tallest - 1) * ROW_H + BOX_H
    positions = nx.multipartite_layout(g, subset_key="layer", align="vertical", scale=1.0)
    xs = [float(p[0]) for p in positions.values()]
    ys = [float(p[1]) for p in positions.values()]
    x_span = (max(xs) - min(xs)) or 1.0
    y_span = (max(ys) - min(ys)) or 1.0
    inner_w = width - 2 * MARGIN - BOX_W
    inner_h = height - 2 * MARGIN - BOX_H

    def place(key: tuple[str, int]) -> tuple[float, float]:
        px, py = positions[key]
        x = MARGIN + (float(px) - min(xs)) / x_span * inner_w if len(layers) > 1 else MARGIN
        y = MARGIN + (float(py) - min(ys)) / y_span * inner_h if len(ys) > 1 else MARGIN
        return round(x, 1), round(y, 1)

    where = {(n.kind, n.key): place((n.kind, n.key)) for n in graph.nodes}
    boxes = [
        Box(
            node=n,
            x=where[(n.kind, n.key)][0],
            y=where[(n.kind, n.key)][1],
            href=href(n),
            current=n.layer == 0,
        )
        for n in graph.nodes
    ]
    edges = []
    for start, end in graph.edges:
        (x1, y1), (x2, y2) = where[start], where[end]
        edges.append(Edge(x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2))
    return Drawing(width=width, height=height, boxes=boxes, edges=edges)
