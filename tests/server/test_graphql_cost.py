"""The depth and cost estimate of GraphQL operations (``wandb_compat.cost``), on the
facade's own schema."""

from __future__ import annotations

import dataclasses

from graphql import parse, validate

from cairn.server.wandb_compat.cost import LIST_ESTIMATE, Measure, check_cost, measure
from cairn.server.wandb_compat.endpoint import _SCHEMA
from cairn.service.limits import DEFAULT_LIMITS

PAGE = DEFAULT_LIMITS.max_page


def measured(
    query: str, variables: dict[str, object] | None = None, name: str | None = None
) -> Measure:
    document = parse(query)
    assert validate(_SCHEMA, document) == []
    return measure(_SCHEMA, document, name, variables or {}, PAGE)


def test_depth_counts_fields_from_the_root_to_the_deepest_leaf() -> None:
    assert measured("{ viewer { id } }") == Measure(depth=2, cost=2)
    assert measured("{ viewer { id teams { edges { node { name } } } } }").depth == 5
    assert measured("{ __typename }") == Measure(1, 1)


def test_fragments_named_and_inline_are_expanded_where_spread() -> None:
    query = """
        query Q { project(name: "p") { ...P } }
        fragment P on Project { entity { ...E } artifactCollection(name: "c") {
            ... on ArtifactSequence { latestArtifact { artifactType { name } } } } }
        fragment E on Entity { organization { orgEntity { name } } }
    """
    found = measured(query)
    # project > artifactCollection > latestArtifact > artifactType > name
    # project > entity > organization > orgEntity > name
    assert found.depth == 5
    assert found.cost == 9


def test_first_multiplies_what_is_under_it_and_edges_count_once() -> None:
    query = """query($n: Int) { project(name: "p") {
        artifactCollections(first: $n) { edges { node { name } } } } }"""
    # project 1, artifactCollections 1, then edges, node, name: n each
    assert measured(query, {"n": 7}).cost == 2 + 3 * 7
    assert measured(query, {"n": 10**9}).cost == 2 + 3 * PAGE  # cut to max_page
    assert measured(query, {}).cost == 2 + 3 * PAGE  # absent: max_page
    assert measured(query, {"n": None}).cost == 2 + 3 * PAGE
    assert measured(query, {"n": -5}).cost == 2
    literal = query.replace("query($n: Int)", "query").replace("first: $n", "first: 3")
    assert measured(literal).cost == 2 + 3 * 3
    defaulted = query.replace("$n: Int", "$n: Int = 4")
    assert measured(defaulted).cost == 2 + 3 * 4
    assert measured(defaulted, {"n": 2}).cost == 2 + 3 * 2
    assert measured(defaulted, {"n": None}).cost == 2 + 3 * PAGE  # null: no page size


def test_lists_without_a_page_count_a_fixed_estimate() -> None:
    # aliases: [ArtifactAlias!]! takes no page argument
    found = measured('{ artifact(id: "x") { aliases { alias } tags { name } } }')
    assert found.cost == 3 + 2 * LIST_ESTIMATE
    # edges of a connection that takes no page are a list like any other
    assert measured("{ viewer { teams { edges { node { name } } } } }").cost == (
        3 + 2 * LIST_ESTIMATE
    )


def test_fragments_spread_inside_a_connection_keep_edges_at_one() -> None:
    query = """query { project(name: "p") { artifactCollections(first: 5) { ...C } } }
        fragment C on ArtifactCollectionConnection { edges { node { name } } }"""
    assert measured(query).cost == 2 + 3 * 5


def test_the_named_operation_is_measured_or_else_the_worst() -> None:
    query = """query Small { viewer { id } }
        query Big { project(name: "p") { artifactCollections { edges { node { name } } } } }"""
    assert measured(query, name="Small") == Measure(2, 2)
    assert measured(query, name="Big").cost == 2 + 3 * PAGE
    assert measured(query, name="Other") == measured(query, name="Big")
    assert measured(query, name=None) == measured(query, name="Big")


def test_a_page_size_the_schema_defaults_is_the_one_counted() -> None:
    # Project.artifactTypes(first: Int = 50): the resolver gets 50 when none is sent
    query = """{ project(name: "p") { artifactTypes { edges { node { name } } } } }"""
    assert measured(query).cost == 2 + 3 * 50
    given = """{ project(name: "p") { artifactTypes(first: 7) { edges { node { name } } } } }"""
    assert measured(given).cost == 2 + 3 * 7


NESTED_STEP = "artifactSequence { artifacts { edges { node { "


def nested_attack(turns: int) -> str:
    return '{ artifact(id: "x") { ' + NESTED_STEP * turns + "id" + " } } } }" * turns + " } }"


def test_the_nested_collection_attack_is_refused() -> None:
    document = parse(nested_attack(6))
    assert validate(_SCHEMA, document) == []
    errors = check_cost(_SCHEMA, document, None, {}, DEFAULT_LIMITS)
    messages = [e.message for e in errors]
    assert messages == [
        f"query depth 26 is over the limit of {DEFAULT_LIMITS.graphql_max_depth}",
        f"query cost {measure(_SCHEMA, document, None, {}, PAGE).cost} is over the limit "
        f"of {DEFAULT_LIMITS.graphql_max_cost}",
    ]
    # two turns stay within the depth limit but not the cost limit: 1000 x 1000 nodes
    shallow = parse(nested_attack(2))
    assert measure(_SCHEMA, shallow, None, {}, PAGE).depth == 10
    (error,) = check_cost(_SCHEMA, shallow, None, {}, DEFAULT_LIMITS)
    assert error.message.startswith("query cost ") and "over the limit" in error.message


def test_a_query_within_both_limits_passes() -> None:
    document = parse(nested_attack(1))
    assert check_cost(_SCHEMA, document, None, {}, DEFAULT_LIMITS) == []
    tight = dataclasses.replace(DEFAULT_LIMITS, graphql_max_depth=3, graphql_max_cost=10)
    messages = [e.message for e in check_cost(_SCHEMA, document, None, {}, tight)]
    assert messages == [
        "query depth 6 is over the limit of 3",
        f"query cost {3 + 3 * PAGE} is over the limit of 10",
    ]


def test_fragments_doubling_at_every_step_are_counted_without_expanding_them() -> None:
    # F0 spreads F1 twice, F1 spreads F2 twice, ...: 2**60 leaves once expanded
    steps = 60
    fragments = "\n".join(
        f"fragment F{i} on User {{ a: teams {{ edges {{ node {{ user {{ ...F{i + 1} }} }} }} }}"
        f" b: teams {{ edges {{ node {{ user {{ ...F{i + 1} }} }} }} }} }}"
        for i in range(steps)
    )
    query = f"{{ viewer {{ ...F0 }} }}\n{fragments}\nfragment F{steps} on User {{ id }}"
    document = parse(query)
    found = measure(_SCHEMA, document, None, {}, PAGE)
    assert found.depth == 1 + 4 * steps + 1
    assert found.cost > 2**steps
    errors = check_cost(_SCHEMA, document, None, {}, DEFAULT_LIMITS)
    assert len(errors) == 2


def test_fragment_cycles_are_measured_safely() -> None:
    query = """{ viewer { ...A } }
        fragment A on User { id teams { edges { node { user { ...B } } } } }
        fragment B on User { name teams { edges { node { user { ...A } } } } }"""
    document = parse(query)
    assert validate(_SCHEMA, document)  # graphql-core refuses the cycle ...
    found = measure(_SCHEMA, document, None, {}, PAGE)  # ... and the walk still ends
    assert found.depth == 1 + 4 + 4  # the spread closing the cycle counts as nothing
    assert measure(_SCHEMA, parse("{ viewer { ...Missing } }"), None, {}, PAGE) == Measure(1, 1)


def test_unknown_fields_and_types_are_measured_without_failing() -> None:
    document = parse("{ future(first: 3) { edges { node { x } } } viewer { nope { id } } }")
    assert measure(_SCHEMA, document, None, {}, PAGE) == Measure(depth=4, cost=1 + 3 * 3 + 3)


def test_too_long_a_chain_of_fragments_is_refused_not_crashed() -> None:
    steps = 5000
    fragments = "\n".join(f"fragment F{i} on User {{ id ...F{i + 1} }}" for i in range(steps))
    document = parse(f"{{ viewer {{ ...F0 }} }}\n{fragments}\nfragment F{steps} on User {{ id }}")
    (error,) = check_cost(_SCHEMA, document, None, {}, DEFAULT_LIMITS)
    assert "depth" in error.message and "over the limit" in error.message


def test_introspection_fits_the_default_limits() -> None:
    from graphql import get_introspection_query

    document = parse(get_introspection_query())
    assert check_cost(_SCHEMA, document, None, {}, DEFAULT_LIMITS) == []
