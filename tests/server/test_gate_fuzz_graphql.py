"""Fuzzing the W&B GraphQL facade through the gate: random valid operations of
``schema.graphql`` (selection sets of random fields of the current type down to scalars,
inline fragments on the ``ArtifactCollection`` interface, arguments drawn from the world's
names and ids, ``first`` between 1 and 5, at most ``MAX_DEPTH`` fields deep), queries
first, then each mutation with random inputs, then queries again; each sent as three
callers drawn from alice, bob, carol, dave and one with no valid key.

Properties, on each answer: status 200, 400 (refused: invalid, or over the depth or
cost limit) or 429; no marker its caller may not see (``gate_fuzz.exposed``, base64 ids
decoded); and no resolver failed with an exception the REST API would answer with 500
(the server runs in this process: the executor's errors are looked at directly).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    is_leaf_type,
)
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from cairn.server import wandb_compat
from cairn.server.wandb_compat import endpoint

from .gate_fuzz import (
    ANONYMOUS,
    CALLERS,
    RANDOM_TEXT,
    SETTINGS,
    TRICKY,
    Pools,
    ServerErrors,
    answer_text,
    b64,
    callers_of,
    exposed,
    internal,
    json_text,
    scaled,
    seed_of,
    server_errors,
    strings_of,
)
from .gate_world import World

SDL = Path(wandb_compat.__file__).with_name("schema.graphql")
# The server refuses operations deeper than 15 fields (``Limits.graphql_max_depth``);
# the fuzzer stays below, so that most of what it sends runs.
MAX_DEPTH = 12
# Fields in one operation at most (past it, each selection takes its shortest way down).
MAX_FIELDS = 40
# Examples by phase: queries, each mutation, queries again.
QUERY_EXAMPLES = 80
MUTATION_EXAMPLES = 4
REQUERY_EXAMPLES = 30
OK_STATUSES = {200, 400, 429}
ANONYMOUS_STATUSES = {401}  # no valid key: nothing runs


@functools.cache
def schema() -> GraphQLSchema:
    return build_schema(SDL.read_text())


@functools.cache
def need() -> dict[str, int]:
    """The fewest fields a selection on each composite type takes to reach a leaf (a type
    with a scalar field needs 1)."""
    types = {
        name: t
        for name, t in schema().type_map.items()
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType) and not name.startswith("__")
    }
    found: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for name, t in types.items():
            ways = []
            for f in t.fields.values():
                inner = get_named_type(f.type)
                if is_leaf_type(inner):
                    ways.append(1)
                elif inner.name in found:
                    ways.append(1 + found[inner.name])
            if ways and found.get(name) != min(ways):
                found[name] = min(ways)
                changed = True
    return found


def field_depth(field: GraphQLField) -> int:
    """The fewest levels a selection of ``field`` takes (itself included)."""
    inner = get_named_type(field.type)
    return 1 if is_leaf_type(inner) else 1 + need()[inner.name]


def literal(value: Any, gql_type: GraphQLInputType) -> str:
    """``value`` as a GraphQL literal of ``gql_type``."""
    if value is None:
        return "null"
    if isinstance(gql_type, GraphQLNonNull):
        return literal(value, gql_type.of_type)
    if isinstance(gql_type, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(literal(item, gql_type.of_type) for item in items) + "]"
    if isinstance(gql_type, GraphQLInputObjectType):
        fields = gql_type.fields
        return "{" + ", ".join(f"{k}: {literal(v, fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(gql_type, GraphQLEnumType):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # A GraphQL string: JSON's escapes are GraphQL's, but a lone surrogate has no escape a
    # GraphQL lexer takes (it is refused before any resolver runs): such text travels as
    # "?" in a literal, and whole in variables.
    if isinstance(value, str):
        value = value.encode("utf-8", "replace").decode("utf-8")
    return json.dumps(value)


class Operation:
    """One operation being drawn: its text, its variables, and every value it sends."""

    def __init__(self, data: st.DataObject, pools: Pools, place: dict[str, str] | None) -> None:
        self.data = data
        self.pools = pools
        self.place = place
        self.variables: dict[str, Any] = {}
        self.definitions: list[str] = []
        self.sent: list[str] = []
        self.fields = 0
        self.aliases = 0

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label)

    # ------------------------------------------------------------------ values

    def name_of(self, kind: str, place_key: str | None = None) -> str:
        """A name of ``kind``: mostly the place's ``place_key``, else from the pool."""
        if (
            self.place is not None
            and place_key is not None
            and self.draw(st.integers(0, 4), f"{place_key}?")
        ):
            return self.place[place_key]
        return str(self.draw(self.pools.strategy(kind), kind))

    def artifact_name(self) -> str:
        """``collection:selector`` (or a bare or odd name)."""
        collection = self.name_of("collection", "collection")
        selector = self.name_of("alias", "selector")
        form = self.draw(st.integers(0, 5), "artifact name form")
        return {0: collection, 1: f"{collection}:{selector}:x"}.get(
            form, f"{collection}:{selector}"
        )

    def collection_gid(self) -> str:
        kind = self.draw(st.sampled_from(["ArtifactSequence", "ArtifactPortfolio"]), "gid kind")
        entity = self.name_of("entity", "entity")
        project = self.name_of("project", "project")
        return b64(f"{kind}:{entity}/{project}/{self.name_of('collection', 'collection')}")

    def string(self, name: str, owner: str) -> str:
        """A value for the string argument or input field ``name`` of ``owner``."""
        where = f"{owner}.{name}"
        if where in ("Query.entity.name", "Organization.name", "Query.organization.name"):
            return self.name_of("entity", "entity")
        if where in ("Query.project.name", "Query.model.name"):
            return self.name_of("project", "project")
        if where in ("Project.run.name", "Project.bucket.name", "UpsertBucketInput.name"):
            return self.name_of("run", "run_id")
        if where in ("Project.artifact.name", "Project.artifactCollectionMembership.name"):
            return self.artifact_name()
        if where in ("Project.artifactType.name", "CreateArtifactInput.artifactTypeName"):
            return self.name_of("type")
        if where in ("Query.artifactCollection.id", "UnlinkArtifactInput.artifactPortfolioID"):
            return self.collection_gid() if self.draw(st.integers(0, 5), "gid?") else "x"
        if where == "LinkArtifactInput.artifactPortfolioID":
            return self.collection_gid()
        if name in ("entityName", "artifactEntityName"):
            return self.name_of("entity", "entity")
        if name in ("projectName", "modelName", "artifactProjectName"):
            return self.name_of("project", "project")
        if name == "runName":
            return self.name_of("run", "run_id")
        if name in ("artifactID", "baseArtifactID") or where == "Query.artifact.id":
            return self.name_of("version", "version_id")
        if name in ("artifactCollectionName", "artifactPortfolioName", "artifactCollectionNames"):
            return self.name_of("collection", "collection")
        if name == "name" and owner.endswith(".artifactCollection"):
            return self.name_of("collection", "collection")
        if name in ("alias", "aliasName", "tagName"):
            return self.name_of("alias", "selector")
        if name in ("names", "files"):
            return self.name_of("file")
        if name == "digest":
            return self.name_of("digest")
        if name in ("filters", "metadata", "config", "summaryMetrics"):
            return str(self.draw(json_text(), name))
        if name == "after":
            return str(self.draw(st.sampled_from(["0", "1", "2", "-1", "x"]), name))
        if name == "order":
            return str(self.draw(st.sampled_from(["-createdAt", "createdAt", "x"]), name))
        if name == "id" and owner.startswith("UpsertBucket"):
            return b64(f"Run:{self.name_of('entity', 'entity')}/p/{self.name_of('run', 'run_id')}")
        return str(self.draw(st.sampled_from(TRICKY) | RANDOM_TEXT, name))

    def value(self, name: str, owner: str, gql_type: GraphQLInputType, depth: int = 0) -> Any:
        """A value of ``gql_type`` for the argument or input field ``name``."""
        nullable = not isinstance(gql_type, GraphQLNonNull)
        inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
        if nullable and self.draw(st.integers(0, 9), f"{name} null?") == 0:
            return None
        if isinstance(inner, GraphQLList):
            count = self.draw(st.integers(0 if nullable else 1, 2), f"{name} count")
            return [self.value(name, owner, inner.of_type, depth + 1) for _ in range(count)]
        if isinstance(inner, GraphQLInputObjectType):
            return self.input_object(inner, depth)
        if isinstance(inner, GraphQLEnumType):
            return self.draw(st.sampled_from(sorted(inner.values)), name)
        assert isinstance(inner, GraphQLScalarType)
        if name == "first":
            return self.draw(st.integers(1, 5), name)
        if inner.name in ("Int", "Int64"):
            return self.draw(st.sampled_from([0, 1, 2, -1, 86400, 2**31 - 1]), name)
        if inner.name == "Boolean":
            return self.draw(st.booleans(), name)
        if inner.name == "Float":
            return self.draw(st.sampled_from([0, 1.5]), name)
        return self.string(name, owner)

    def input_object(self, gql_type: GraphQLInputObjectType, depth: int) -> dict[str, Any]:
        out = {}
        for name, field in gql_type.fields.items():
            required = isinstance(field.type, GraphQLNonNull)
            if required or (depth < 2 and self.draw(st.booleans(), f"{name}?")):
                out[name] = self.value(name, gql_type.name, field.type, depth + 1)
        return out

    def argument(self, name: str, owner: str, arg: GraphQLArgument) -> str:
        value = self.value(name, owner, arg.type)
        self.sent.extend(strings_of(value))
        if self.draw(st.integers(0, 2), f"{name} as variable?") == 0:
            variable = f"v{len(self.variables)}"
            self.variables[variable] = value
            self.definitions.append(f"${variable}: {arg.type}")
            return f"${variable}"
        return literal(value, arg.type)

    # ------------------------------------------------------------------ selections

    def selection(self, parent: GraphQLNamedType, room: int) -> str:
        """A selection set on ``parent`` at most ``room`` fields deep."""
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        fields = {n: f for n, f in parent.fields.items() if field_depth(f) <= room}
        if self.fields >= MAX_FIELDS:
            shortest = min(fields, key=lambda n: (field_depth(fields[n]), n))
            chosen = [shortest]
        else:
            # Mostly one way further down at least, so that operations go deep.
            leaves = sorted(n for n, f in fields.items() if field_depth(f) == 1)
            inner = sorted(n for n, f in fields.items() if field_depth(f) > 1)
            down = 1 if inner and (not leaves or self.draw(st.integers(0, 4), "down?")) else 0
            chosen = self.draw(
                st.lists(st.sampled_from(inner), min_size=down, max_size=2, unique=True)
                if inner
                else st.just([]),
                f"inner fields of {parent.name}",
            )
            chosen += self.draw(
                st.lists(st.sampled_from(leaves), min_size=0 if chosen else 1, max_size=2)
                if leaves
                else st.just([]),
                f"leaf fields of {parent.name}",
            )
            chosen = list(dict.fromkeys(chosen))
        parts = [self.field(parent, name, fields[name], room) for name in chosen]
        if self.draw(st.integers(0, 7), "__typename?") == 0:
            parts.append("__typename")
        if isinstance(parent, GraphQLInterfaceType) and self.fields < MAX_FIELDS:
            for impl in schema().get_implementations(parent).objects:
                if self.draw(st.booleans(), f"... on {impl.name}?"):
                    parts.append(f"... on {impl.name} {{ {self.selection(impl, room)} }}")
        return " ".join(parts)

    def field(self, parent: GraphQLNamedType, name: str, field: GraphQLField, room: int) -> str:
        self.fields += 1
        self.aliases += 1
        args = [
            f"{arg_name}: {self.argument(arg_name, f'{parent.name}.{name}', arg)}"
            for arg_name, arg in field.args.items()
            if arg_name == "first"
            or isinstance(arg.type, GraphQLNonNull)
            or self.draw(st.integers(0, 3), f"{name}({arg_name})?") > 0
        ]
        text = f"f{self.aliases}: {name}" + (f"({', '.join(args)})" if args else "")
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            return text
        return f"{text} {{ {self.selection(inner, room - 1)} }}"

    def document(self, kind: str, root: GraphQLObjectType, room: int) -> str:
        body = self.selection(root, room)
        definitions = f"({', '.join(self.definitions)})" if self.definitions else ""
        return f"{kind} Fuzz{definitions} {{ {body} }}"


def operation_of(
    data: st.DataObject, pools: Pools, mutation: str | None = None
) -> tuple[str, dict[str, Any], list[str]]:
    """A random valid query, or a call of the ``mutation`` field with random inputs:
    (document, variables, values sent)."""
    place = data.draw(st.one_of(st.sampled_from(pools.places), st.none()), "place")
    op = Operation(data, pools, place)
    if mutation is not None:
        root = schema().mutation_type
        assert root is not None
        field = root.fields[mutation]
        room = max(data.draw(st.integers(2, 6), "depth"), field_depth(field))
        text = op.field(root, mutation, field, room)
        definitions = f"({', '.join(op.definitions)})" if op.definitions else ""
        document = f"mutation Fuzz{definitions} {{ {text} }}"
    else:
        room = data.draw(st.integers(2, MAX_DEPTH), "depth")
        document = op.document("query", schema().query_type, room)
    return document, op.variables, op.sent


def mutations() -> list[str]:
    root = schema().mutation_type
    assert root is not None
    return sorted(root.fields)


def statuses(caller: str) -> set[int]:
    return ANONYMOUS_STATUSES if caller == ANONYMOUS else OK_STATUSES


class Callers:
    """One HTTP client per caller (kept alive: a connection per request costs more than
    most queries), each with its key."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients = {caller: world.server.client() for caller in CALLERS}

    def post(
        self, caller: str, document: str, variables: dict[str, Any], anonymous: str = ""
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if caller != ANONYMOUS:
            headers["Authorization"] = f"Bearer {self.world.keys[caller]}"
        elif anonymous:
            headers["Authorization"] = anonymous
        # ASCII JSON: lone surrogates travel as escapes (as other clients may send them).
        body = json.dumps({"query": document, "variables": variables}).encode()
        return self.clients[caller].post("/graphql", content=body, headers=headers)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def resolver_failures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The resolver exceptions of the in-process server that REST would answer with 500."""
    failures: list[str] = []
    execute = endpoint.execute

    def checking(*args: Any, **kwargs: Any) -> Any:
        result = execute(*args, **kwargs)
        for error in result.errors or ():
            if internal(error.original_error):
                failures.append(f"{type(error.original_error).__name__}: {error.message}")
        return result

    monkeypatch.setattr(endpoint, "execute", checking)
    return failures


def test_the_generator_makes_valid_operations() -> None:
    """What the generator draws passes graphql-core's validation against the schema (so the
    fuzzer reaches the resolvers rather than the validator)."""
    from graphql import OperationDefinitionNode, parse, validate
    from graphql.execution.values import get_variable_values

    class Stub:
        place = dict.fromkeys(("entity", "project", "collection", "selector"), "x")
        places: ClassVar = [{**place, "run_id": "r", "version_id": "v"}]

        def strategy(self, kind: str) -> st.SearchStrategy[str]:
            return st.sampled_from(["a", "zz", "\x00"])

    @settings(SETTINGS, max_examples=60)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        mutation = data.draw(st.none() | st.sampled_from(mutations()))
        document, variables, _sent = operation_of(data, Stub(), mutation)  # type: ignore[arg-type]
        parsed = parse(document)
        assert validate(schema(), parsed) == [], document
        operation = parsed.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        coerced = get_variable_values(schema(), operation.variable_definitions or (), variables)
        assert not isinstance(coerced, list), (coerced, document, variables)  # errors

    check()


def sweep(world: World, callers: Callers) -> None:
    """Every caller reads what links, uses and registries show: nothing any caller did may
    have put a marker there that the reader must not see."""
    ids = [world.v1["id"], world.private["id"], world.hidden["id"], world.carol_version["id"]]
    version = """id artifactSequence { name project { name entityName } }
        aliases { alias artifactCollection { name project { name entityName } } }
        artifactMemberships(first: 5) { edges { node { artifactCollection { id name
          project { name entityName } } aliases { alias } } } }
        usedBy(first: 5) { edges { node { name project { name entityName } } } }
        createdBy { name project { name entityName } }"""
    collections = f"""artifactCollections(first: 5) {{ edges {{ node {{ id name
        artifacts(first: 5) {{ edges {{ node {{ {version} }} }} }} }} }} }}"""
    queries = [
        "{ viewer { name entity teams { edges { node { name } } } } }",
        *(
            f'{{ project(entityName: "{e}", name: "{p}") {{ {collections} }} }}'
            for e, p in (
                ("vision", "p"),
                ("acme", "wandb-registry-open"),
                ("acme", "wandb-registry-zzlocked"),
                ("alice", "p"),
                ("carol", "p"),
            )
        ),
        *(f'{{ artifact(id: "{vid}") {{ {version} }} }}' for vid in ids),
    ]
    for caller in CALLERS:
        for query in queries:
            response = callers.post(caller, query, {})
            assert response.status_code in statuses(caller), (caller, query, response.text)
            found = exposed(caller, answer_text(response), [query])
            assert found == [], (found, caller, query, response.text)


def test_graphql_fuzz(world: World, resolver_failures: list[str]) -> None:
    """Random queries, then each mutation with random inputs, then queries again (on what
    the mutations left), as several callers each: 200, 400 or 429 only; no marker its caller
    may not see; no resolver failing as REST would with 500."""
    pools = Pools(world)
    callers = Callers(world)
    try:
        with server_errors() as errors:
            fuzz(callers, pools, errors, resolver_failures, "query", None, QUERY_EXAMPLES)
            for name in mutations():
                fuzz(callers, pools, errors, resolver_failures, "mutation", name, MUTATION_EXAMPLES)
            fuzz(callers, pools, errors, resolver_failures, "requery", None, REQUERY_EXAMPLES)
            sweep(world, callers)
    finally:
        callers.close()
    assert resolver_failures == []


def fuzz(
    callers: Callers,
    pools: Pools,
    errors: ServerErrors,
    failures: list[str],
    phase: str,
    mutation: str | None,
    examples: int,
) -> None:
    """Send ``examples`` operations (queries, or calls of ``mutation``)."""

    @seed(seed_of(f"graphql {phase} {mutation}"))
    @settings(SETTINGS, max_examples=scaled(examples))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        document, variables, sent = operation_of(data, pools, mutation)
        anonymous = data.draw(st.sampled_from(["", "Bearer nope", "Basic YXBpOm5vcGU="]), "anon")
        for caller in callers_of(data):
            if mutation is not None and pools.may_publish(caller, sent):
                continue
            response = callers.post(caller, document, variables, anonymous)
            where = f"as {caller}: {document}\nvariables={json.dumps(variables)[:2000]}"
            assert response.status_code in statuses(caller), (
                f"{where}\n-> {response.status_code} {response.text[:2000]}\n"
                + "\n".join(errors.take())
            )
            found = exposed(caller, answer_text(response), sent)
            assert found == [], (found, f"{where}\n-> {response.text[:3000]}")
            assert failures == [], (failures, where)

    run()
