"""The lineage page's layout (``server/ui/graph.py``): columns by layer, boxes that never
overlap, edges between box sides, few crossings, and the same drawing for the same graph."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.server.ui.graph import BOX_H, BOX_W, COL_W, MARGIN, ROW_H, Box, Drawing, layout
from cairn.service.lineage_graph import ARTIFACT, RUN, Graph, Node

Key = tuple[str, int]


def node(kind: str, key: int, layer: int, label: str | None = None) -> Node:
    if kind == RUN:
        return Node(RUN, key, "e", "p", f"run{key}", None, None, label or f"run{key}", layer)
    name = label or f"data{key}"
    return Node(ARTIFACT, key, "e", "p", name, "dataset", 0, f"{name}:v0", layer)


def href(n: Node) -> str:
    return f"/{n.kind}/{n.key}"


def boxes_by_key(drawing: Drawing) -> dict[Key, Box]:
    return {(b.node.kind, b.node.key): b for b in drawing.boxes}


def assert_sound(graph: Graph, drawing: Drawing) -> None:
    """Every node drawn once, in its layer's column, inside the drawing, no two boxes
    overlapping, and every edge from a side of its start box to a side of its end box."""
    boxes = boxes_by_key(drawing)
    assert len(drawing.boxes) == len(boxes) == len(graph.nodes)
    layers = sorted({n.layer for n in graph.nodes})
    for n in graph.nodes:
        box = boxes[(n.kind, n.key)]
        assert box.x == MARGIN + layers.index(n.layer) * COL_W
        assert MARGIN <= box.y <= drawing.height - MARGIN - BOX_H
        assert box.x + BOX_W <= drawing.width - MARGIN
        assert box.href == href(n) and box.current == (n.layer == 0)
    for a, b in itertools.combinations(drawing.boxes, 2):
        apart_x = a.x + BOX_W <= b.x or b.x + BOX_W <= a.x
        apart_y = a.y + BOX_H <= b.y or b.y + BOX_H <= a.y
        assert apart_x or apart_y, (a.node.label, b.node.label)
    assert len(drawing.edges) == len(graph.edges)
    for (start, end), edge in zip(sorted(graph.edges), drawing.edges, strict=True):
        s, e = boxes[start], boxes[end]
        assert edge.x1 in (s.x, s.x + BOX_W) and edge.y1 == s.y + BOX_H / 2
        assert edge.x2 in (e.x, e.x + BOX_W) and edge.y2 == e.y + BOX_H / 2
        if s.x < e.x:  # the sides that face each other
            assert (edge.x1, edge.x2) == (s.x + BOX_W, e.x)
        elif s.x > e.x:
            assert (edge.x1, edge.x2) == (s.x, e.x + BOX_W)


def crossings(drawing: Drawing) -> int:
    """Pairs of edges between the same two columns that cross."""
    count = 0
    for a, b in itertools.combinations(drawing.edges, 2):
        same_span = {a.x1, a.x2} == {b.x1, b.x2}
        if same_span:
            ya = (a.y1, a.y2) if a.x1 < a.x2 else (a.y2, a.y1)
            yb = (b.y1, b.y2) if b.x1 < b.x2 else (b.y2, b.y1)
            count += (ya[0] - yb[0]) * (ya[1] - yb[1]) < 0
    return count


def chain() -> Graph:
    """raw:v0 -> prep -> data:v0 (the version) -> train -> model:v0, and eval used both."""
    nodes = [
        node(ARTIFACT, 1, -2, "raw"),
        node(RUN, 1, -1, "prep"),
        node(ARTIFACT, 2, 0, "data"),
        node(RUN, 2, 1, "train"),
        node(RUN, 3, 1, "eval"),
        node(ARTIFACT, 3, 2, "model"),
    ]
    edges = [
        ((ARTIFACT, 1), (RUN, 1)),
        ((RUN, 1), (ARTIFACT, 2)),
        ((ARTIFACT, 2), (RUN, 2)),
        ((ARTIFACT, 2), (RUN, 3)),
        ((RUN, 2), (ARTIFACT, 3)),
        ((ARTIFACT, 3), (RUN, 3)),  # eval also used the model: an edge to the left
    ]
    return Graph(nodes=nodes, edges=edges, truncated=False)


def test_columns_follow_the_layers_left_to_right() -> None:
    graph = chain()
    drawing = layout(graph, href)
    assert_sound(graph, drawing)
    boxes = boxes_by_key(drawing)
    xs = [boxes[k].x for k in [(ARTIFACT, 1), (RUN, 1), (ARTIFACT, 2), (RUN, 2), (ARTIFACT, 3)]]
    assert xs == [MARGIN + i * COL_W for i in range(5)]
    assert boxes[(RUN, 3)].x == boxes[(RUN, 2)].x
    assert drawing.width == 2 * MARGIN + 4 * COL_W + BOX_W
    assert drawing.height == 2 * MARGIN + ROW_H + BOX_H
    assert [b.current for b in drawing.boxes].count(True) == 1


def test_an_edge_to_a_column_on_the_left_leaves_from_the_left_side() -> None:
    drawing = layout(chain(), href)
    boxes = boxes_by_key(drawing)
    model, evaluate = boxes[(ARTIFACT, 3)], boxes[(RUN, 3)]
    edge = drawing.edges[sorted(chain().edges).index(((ARTIFACT, 3), (RUN, 3)))]
    assert (edge.x1, edge.x2) == (model.x, evaluate.x + BOX_W)


def test_a_single_node() -> None:
    graph = Graph(nodes=[node(ARTIFACT, 7, 0)], edges=[], truncated=False)
    drawing = layout(graph, href)
    assert drawing.width == 2 * MARGIN + BOX_W and drawing.height == 2 * MARGIN + BOX_H
    [box] = drawing.boxes
    assert (box.x, box.y, box.href, box.current) == (MARGIN, MARGIN, "/artifact/7", True)
    assert drawing.edges == []


def test_an_empty_graph_is_an_empty_drawing() -> None:
    drawing = layout(Graph(nodes=[], edges=[], truncated=False), href)
    assert drawing.boxes == [] and drawing.edges == []
    assert drawing.width == 2 * MARGIN + BOX_W and drawing.height == 2 * MARGIN + BOX_H


def test_a_wide_column_is_spread_one_row_apart_and_the_others_centred() -> None:
    version = node(ARTIFACT, 1, 0)
    runs = [node(RUN, k, 1) for k in range(1, 31)]
    graph = Graph(
        nodes=[version, *runs],
        edges=[((ARTIFACT, 1), (RUN, r.key)) for r in runs],
        truncated=False,
    )
    drawing = layout(graph, href)
    assert_sound(graph, drawing)
    assert drawing.height == 2 * MARGIN + 29 * ROW_H + BOX_H
    column = sorted(b.y for b in drawing.boxes if b.node.kind == RUN)
    assert column == [MARGIN + i * ROW_H for i in range(30)]
    assert {b.x for b in drawing.boxes if b.node.kind == RUN} == {MARGIN + COL_W}
    middle = boxes_by_key(drawing)[(ARTIFACT, 1)].y
    assert middle == MARGIN + 14.5 * ROW_H


def test_columns_are_ordered_so_that_edges_do_not_cross() -> None:
    # By label alone "b" would sit below "a" and "y" above "z": a->z and b->y would cross.
    graph = Graph(
        nodes=[
            node(ARTIFACT, 1, 0, "x"),
            node(RUN, 1, 1, "a"),
            node(RUN, 2, 1, "b"),
            node(ARTIFACT, 2, 2, "z"),
            node(ARTIFACT, 3, 2, "y"),
        ],
        edges=[
            ((ARTIFACT, 1), (RUN, 1)),
            ((ARTIFACT, 1), (RUN, 2)),
            ((RUN, 1), (ARTIFACT, 2)),
            ((RUN, 2), (ARTIFACT, 3)),
        ],
        truncated=False,
    )
    drawing = layout(graph, href)
    assert_sound(graph, drawing)
    assert crossings(drawing) == 0
    boxes = boxes_by_key(drawing)
    assert boxes[(RUN, 1)].y < boxes[(RUN, 2)].y  # a above b: kind, then label
    assert boxes[(ARTIFACT, 2)].y < boxes[(ARTIFACT, 3)].y  # z follows a


def test_the_same_graph_in_any_order_gives_the_same_drawing() -> None:
    graph = chain()
    first = layout(graph, href)
    assert layout(graph, href) == first
    shuffler = random.Random(7)
    for _ in range(5):
        nodes, edges = list(graph.nodes), list(graph.edges)
        shuffler.shuffle(nodes)
        shuffler.shuffle(edges)
        assert layout(Graph(nodes=nodes, edges=edges, truncated=False), href) == first


@st.composite
def lineage_graphs(draw: st.DrawFn) -> Graph:
    """Graphs shaped like lineage_graph's: artifacts on even layers, runs on odd ones,
    edges between a run and an artifact (mostly neighbouring layers, some further)."""
    depth_up = draw(st.integers(0, 4))
    depth_down = draw(st.integers(0, 4))
    nodes = [node(ARTIFACT, 0, 0)]
    for layer in range(-depth_up, depth_down + 1):
        if layer == 0:
            continue
        kind = RUN if layer % 2 else ARTIFACT
        for _ in range(draw(st.integers(1, 6))):
            nodes.append(node(kind, len(nodes), layer, draw(st.sampled_from("abc"))))
    runs = [n for n in nodes if n.kind == RUN]
    artifacts = [n for n in nodes if n.kind == ARTIFACT]
    edges: set[tuple[Key, Key]] = set()
    if runs:
        pairs = st.tuples(st.sampled_from(runs), st.sampled_from(artifacts), st.booleans())
        for run, artifact, used in draw(st.lists(pairs, max_size=40)):
            r, a = (RUN, run.key), (ARTIFACT, artifact.key)
            edges.add((a, r) if used else (r, a))
    return Graph(nodes=nodes, edges=sorted(edges), truncated=False)


@settings(max_examples=60, deadline=None)
@given(lineage_graphs())
def test_any_lineage_graph_is_drawn_soundly(graph: Graph) -> None:
    drawing = layout(graph, href)
    assert_sound(graph, drawing)
    shuffled = Graph(nodes=graph.nodes[::-1], edges=graph.edges[::-1], truncated=False)
    assert layout(shuffled, href) == drawing
