"""The gate, walked through the whole GraphQL schema of the wandb facade.

For every field of an object type that returns an artifact, collection, project, run,
file, membership, alias, artifact type or entity (directly, or through connections,
edges, users, organizations or manifests), the walker reaches objects of that type by
every way into it (each field that answers one, after a shortest path from the root to
that field's type), selects the field there, and sends the queries as each user of
``gate_world``: no answer holds a name the user must never see, not even inside a
base64 id (``revealed``), and none is an error or refused. The fields and the paths
come from ``schema.graphql`` itself, so a field added later is walked without anyone
listing it; a type that leads to the targets but that no query reaches (what only
mutations answer) must be classified in ``NOT_WALKED``.

Under a walked field the walker selects the scalars of the objects it answers
(``SHALLOW``); the fields of those objects are walked in turn, the objects reached
through this field being one of their ways in. A field whose shallow answers name no
marker is walked again one level deeper (``DEEP``), along the shortest path to its type.

The walk is not vacuous, and says so: the same queries sent as the server's admin reach
every marker of the world; every walked field reaches one through its own answer, but
those in ``CANNOT_REACH`` (each with its reason); and every walked field is followed by
some user from an object that user could read, but those in ``NOT_FOLLOWED``. A new
field that reaches nothing, or that no user follows, fails the test until it is
classified here.

Arguments: pages are ``first: 5``. An argument that names something takes every name
of the kind the field answers, each in a sibling selection of its own (``variants``):
``entityName`` + ``name`` every project; ``id`` every version, or every collection;
``aliasName`` the aliases of the world; ``name`` within a known project (the path named
it at the root) the names of that project and, for the walked field, those of the
other teams' projects too (``FOREIGN``); every name of the world otherwise. Arguments
that only filter, order or page are left out (``OMITTED``); an argument the walker does
not know fails the test until it is classified.

The queries are built and measured with the server's own ``cost.measure`` against its
limits before they are sent (``test_every_field_is_walked_or_classified`` does that
without a server); a query the server still refuses fails the test.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import dataclasses
import functools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    build_schema,
    get_named_type,
    is_leaf_type,
    parse,
)

from cairn.server import wandb_compat
from cairn.server.wandb_compat.cost import measure
from cairn.server.wandb_compat.endpoint import _SCHEMA as APP_SCHEMA
from cairn.server.wandb_compat.graphql_objects import collection_id
from cairn.service.limits import Limits

from . import gate_world
from .gate_world import MARKERS, ORG, USERS, World, leaks

SCHEMA = build_schema((Path(wandb_compat.__file__).with_name("schema.graphql")).read_text())

TARGETS = frozenset(
    {
        "Artifact",
        "ArtifactSequence",
        "ArtifactPortfolio",
        "ArtifactCollection",
        "Project",
        "Run",
        "File",
        "ArtifactCollectionMembership",
        "ArtifactType",
        "ArtifactAlias",
        "Entity",
    }
)
"""The types whose objects belong to an entity (or are one)."""

PAGE = 5
"""``first`` of every paginated field."""

SHALLOW, DEEP = (0,), (1, 0)
"""How deep the walker selects under the objects a walked field answers (the first of
these that the server's limits let): 0 selects their scalars, 1 their objects' scalars
too (``Document.selection``). Every field is walked ``SHALLOW``; those whose shallow
answers to the admin name no marker are walked again ``DEEP`` (their objects' own
scalars may name nothing of the world, as a version's do not: the names are one level
down). The fields those objects hold are walked anyway, with the objects reached
through this field as one of their ways in."""

OMITTED = frozenset(
    {"after", "order", "filters", "missingOk", "names", "keys", "includeAll", "samples"}
)
"""Arguments that only page, order or filter what a field answers: left out."""

_TYPE = "a type named alone ('dataset'), no team's; its collections are not answered there"
_ORG = "the organization and its entity are everyone's"
_TEAMS = "Cairn answers no teams for a user (an empty list)"

CANNOT_REACH: dict[tuple[str, str], str] = {
    ("Artifact", "artifactType"): _TYPE,
    ("ArtifactSequence", "defaultArtifactType"): _TYPE,
    ("ArtifactPortfolio", "defaultArtifactType"): _TYPE,
    ("Query", "organization"): _ORG,
    ("Project", "user"): "Cairn answers no project owner (null)",
    ("Run", "user"): "the run's creator: a name and the server's one organization",
    ("Entity", "organization"): _ORG,
    ("User", "organizations"): _ORG,
    ("Query", "viewer"): "the caller itself",
    ("User", "teams"): _TEAMS,
    ("EntityConnection", "edges"): _TEAMS + " (only User.teams answers an EntityConnection)",
    ("EntityEdge", "node"): _TEAMS + " (only User.teams answers an EntityEdge)",
    ("File", "artifact"): "Cairn's files do not name their version: always null",
    ("User", "projects"): "only the projects holding automations the caller may read, and "
    "the gate world has no automation (tests/server/test_automations.py checks who sees them)",
}
"""Walked fields that reach no other entity's object, in any world, and why."""

NOT_FOLLOWED: dict[tuple[str, str], str] = {
    ("EntityEdge", "node"): _TEAMS + ": there is never an edge to follow",
}
"""Walked fields that no user of the world reaches from an object it can read, and why."""

_WRITE = "answered by a mutation only (its objects are the views walked here)"

NOT_WALKED: dict[str, str] = {
    "Mutation": "writes: their own checks are tested with the writes",
    "UpsertBucketPayload": _WRITE,
    "CreateArtifactPayload": _WRITE,
    "ArtifactManifestPayload": _WRITE,
    "CreateArtifactFilesPayload": _WRITE,
    "ArtifactCollectionPayload": _WRITE,
    "RewindRunPayload": _WRITE,
    "ArtifactPayload": _WRITE,
    "LinkArtifactPayload": _WRITE,
}
"""The types with fields that lead to the targets that no query reaches, and why."""


# ------------------------------------------------------------------ the schema


Composite = GraphQLObjectType | GraphQLInterfaceType


def composite(name: str) -> Composite:
    found = SCHEMA.get_type(name)
    assert isinstance(found, GraphQLObjectType | GraphQLInterfaceType), name
    return found


def returns(field: GraphQLField) -> GraphQLNamedType:
    return get_named_type(field.type)


def leading_types() -> frozenset[str]:
    """The targets, and the types with a field that leads to one."""
    leading = set(TARGETS)
    changed = True
    while changed:
        changed = False
        for name, named in SCHEMA.type_map.items():
            if name in leading or not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                continue
            if any(returns(f).name in leading for f in named.fields.values()):
                leading.add(name)
                changed = True
    return frozenset(leading)


LEADING = leading_types()


@dataclasses.dataclass(frozen=True)
class Step:
    """One hop of a path: the field ``field`` of ``parent``, or (``field`` None) an inline
    fragment ``... on <target>`` of the interface ``parent``."""

    parent: str
    field: str | None
    target: str


def steps_from(name: str) -> Iterator[Step]:
    """The hops out of the type ``name`` towards the leading types."""
    parent = composite(name)
    for field_name, field in parent.fields.items():
        if returns(field).name in LEADING:
            yield Step(name, field_name, returns(field).name)
    if isinstance(parent, GraphQLInterfaceType):
        for possible in SCHEMA.get_possible_types(parent):
            yield Step(name, None, possible.name)


@functools.cache
def distances(start: str) -> dict[str, int]:
    """The fewest fields from ``start`` to each type (an inline fragment costs none)."""
    found = {start: 0}
    queue: collections.deque[str] = collections.deque([start])
    while queue:
        name = queue.popleft()
        for step in steps_from(name):
            cost = found[name] + (0 if step.field is None else 1)
            if cost < found.get(step.target, cost + 1):
                found[step.target] = cost
                if step.field is None:
                    queue.appendleft(step.target)
                else:
                    queue.append(step.target)
    return found


FROM_ROOT = distances("Query")


@functools.cache
def shortest_path(target: str) -> tuple[Step, ...]:
    """One path of fewest fields from ``Query`` to ``target`` (the first in the schema's
    order of fields)."""
    path: tuple[Step, ...] = ()
    name = "Query"
    while name != target:
        left = FROM_ROOT[target] - FROM_ROOT[name]
        step = next(
            s
            for s in steps_from(name)
            if distances(s.target).get(target) == left - (0 if s.field is None else 1)
            and (s.field is not None or FROM_ROOT[s.target] == FROM_ROOT[name])
        )
        path, name = (*path, step), step.target
    return path


def ways_in(target: str) -> list[tuple[Step, ...]]:
    """Every field that answers a ``target`` (through an inline fragment when it answers
    an interface of it), of the types the queries reach. A field a concrete type has
    from its interface is taken on the interface only; a root field with the resolver of
    another (``model`` is ``project``) is the same way in."""
    ways: list[tuple[Step, ...]] = []
    resolvers: set[Any] = set()
    for parent in sorted(FROM_ROOT):
        named = composite(parent)
        inherited = {f for i in getattr(named, "interfaces", ()) for f in i.fields}
        app_type = APP_SCHEMA.get_type(parent)
        assert isinstance(app_type, GraphQLObjectType | GraphQLInterfaceType)
        for step in steps_from(parent):
            if step.field is None or step.field in inherited:
                continue
            resolve = app_type.fields[step.field].resolve
            if resolve is not None and resolve in resolvers:
                continue
            goes = SCHEMA.get_type(step.target)
            if step.target == target:
                ways.append((step,))
            elif isinstance(goes, GraphQLInterfaceType) and any(
                p.name == target for p in SCHEMA.get_possible_types(goes)
            ):
                ways.append((step, Step(step.target, None, target)))
            else:
                continue
            if resolve is not None:
                resolvers.add(resolve)
    return ways


def paths_to(target: str) -> list[tuple[Step, ...]]:
    """The paths the walker reaches ``target`` by: every way into it, after a shortest
    path to the field's type."""
    if target == "Query":
        return [()]
    return [(*shortest_path(way[0].parent), *way) for way in ways_in(target)]


def walked_fields() -> list[tuple[str, str]]:
    """Every (object type, field) that returns a leading type, of the types the queries
    reach (``Query`` included; ``Mutation`` and what only mutations answer with not)."""
    pairs = []
    for name in sorted(FROM_ROOT):
        named = SCHEMA.get_type(name)
        if isinstance(named, GraphQLObjectType):
            pairs += [(name, f) for f, fd in named.fields.items() if returns(fd).name in LEADING]
    return pairs


# ------------------------------------------------------------------ the world's names


Project = tuple[str, str]

PROJECT_SCOPED = frozenset(
    {"Run", "Artifact", "ArtifactCollectionMembership", "ArtifactCollection", "ArtifactType"}
)
"""The kinds a ``name`` argument names within a project."""

KEEPS_PROJECT = frozenset(
    {
        "Project",
        "ArtifactType",
        "ArtifactTypeConnection",
        "ArtifactTypeEdge",
        "Run",
        "ArtifactCollection",
        "ArtifactSequence",
        "ArtifactPortfolio",
        "ArtifactCollectionConnection",
        "ArtifactCollectionEdge",
    }
)
"""The types whose objects, reached within a project, answer (``project``, ``run``,
``artifactType``, collections) only objects of that project."""

FOREIGN: tuple[Project, ...] = (("zzhidden", "zzhidden-proj"), ("other", "q"))
"""The projects whose names a walked field also tries within every other project: one
of alice's teams, and carol's."""


@dataclasses.dataclass(frozen=True)
class Names:
    """The names of the world: ``in_project`` by project and kind (a version once, as
    ``<collection>:v0``), ``by_alias`` the same versions by their aliases, ``everywhere``
    by kind, ``ids`` of versions, ``collections`` (id and project) and ``aliases``."""

    in_project: dict[Project, dict[str, list[str]]]
    by_alias: dict[Project, list[str]]
    everywhere: dict[str, list[str]]
    ids: list[str]
    collections: list[tuple[str, Project]]
    aliases: list[str]


def names_of(world: World | None) -> Names:
    """The names ``gate_world.build`` gives (see its docstring); with no world, the
    versions' ids are made up (to build the queries without a server)."""
    in_project: dict[Project, dict[str, list[str]]] = {
        ("vision", "p"): {"Run": ["r1"], "ArtifactCollection": ["shared"]},
        ("vision", "zzprivate-proj"): {
            "Run": ["zzprivate-run"],
            "ArtifactCollection": ["zzprivate-coll"],
        },
        ("zzhidden", "zzhidden-proj"): {
            "Run": ["zzhidden-run"],
            "ArtifactCollection": ["zzhidden-coll"],
        },
        ("other", "q"): {"Run": ["zzcarol-run"], "ArtifactCollection": ["zzcarol-coll"]},
        (ORG, "wandb-registry-open"): {"Run": [], "ArtifactCollection": ["open-coll"]},
        (ORG, "wandb-registry-zzlocked"): {"Run": [], "ArtifactCollection": ["zzlocked-coll"]},
    }
    aliases = {
        "zzprivate-coll": ["zzprivate-alias"],
        "open-coll": ["production"],
        "zzlocked-coll": ["production"],
    }
    by_alias = {
        project: [f"{c}:{a}" for c in kinds["ArtifactCollection"] for a in aliases.get(c, [])]
        for project, kinds in in_project.items()
    }
    for kinds in in_project.values():
        kinds["ArtifactType"] = ["dataset"]
        kinds["Artifact"] = [f"{c}:v0" for c in kinds["ArtifactCollection"]]
        kinds["ArtifactCollectionMembership"] = kinds["Artifact"]
    everywhere = {
        kind: sorted({n for kinds in in_project.values() for n in kinds[kind]})
        for kind in PROJECT_SCOPED
    }
    for kind in ("Artifact", "ArtifactCollectionMembership"):
        everywhere[kind] += sorted(n for found in by_alias.values() for n in found)
    everywhere["Entity"] = [*USERS, "vision", "zzhidden", "other", ORG, "root"]
    everywhere["Organization"] = [ORG]
    everywhere["Project"] = sorted({p for _e, p in in_project})  # Entity.project(name)
    versions = (
        (world.v1, world.private, world.hidden, world.carol_version)
        if world is not None
        else [{"id": base64.b64encode(f"Artifact:{n}".encode()).decode()} for n in range(4)]
    )
    return Names(
        in_project=in_project,
        by_alias=by_alias,
        everywhere=everywhere,
        ids=[v["id"] for v in versions],
        collections=[
            (
                collection_id("ArtifactPortfolio" if e == ORG else "ArtifactSequence", e, p, c),
                (e, p),
            )
            for (e, p), kinds in in_project.items()
            for c in kinds["ArtifactCollection"]
        ],
        aliases=["latest", "production", "zzprivate-alias"],
    )


Variant = tuple[dict[str, Any], Project | None]
"""The arguments of one selection of a field, and the project its answer belongs to
(None when the walker does not know it)."""


def variants(
    parent: str, field_name: str, names: Names, project: Project | None, walked: bool
) -> list[Variant]:
    """The argument sets the walker sends ``parent.field_name`` with, ``project`` being
    the project the parent object belongs to (when known), ``walked`` whether the field
    is the one walked (a path names each version once, as ``v0``; the walked field by
    its aliases too, and tries the ``FOREIGN`` projects' names)."""
    if parent not in KEEPS_PROJECT:
        project = None
    field = composite(parent).fields[field_name]
    args = set(field.args)
    unknown = args - OMITTED - {"first", "id", "name", "entityName", "aliasName"}
    assert not unknown, f"classify the arguments {sorted(unknown)} of {parent}.{field_name}"
    fixed: dict[str, Any] = {"first": PAGE} if "first" in args else {}
    kind = returns(field).name
    if "entityName" in args and "name" not in args:  # an entity's projects (Query.models)
        return [({**fixed, "entityName": e}, None) for e in names.everywhere["Entity"]]
    if "entityName" in args:
        assert kind == "Project", (parent, field_name)
        return [({**fixed, "entityName": e, "name": p}, (e, p)) for e, p in names.in_project]
    if "name" in args:
        if project is None or kind not in PROJECT_SCOPED:
            assert kind in names.everywhere, f"no names of {kind} for {parent}.{field_name}"
            pool = names.everywhere[kind]
        else:
            pool = list(names.in_project[project][kind])
            if walked and kind in ("Artifact", "ArtifactCollectionMembership"):
                pool += names.by_alias[project]
            for other in FOREIGN if walked else ():
                pool += [n for n in names.in_project[other][kind] if other != project]
        return [({**fixed, "name": value}, project) for value in pool]
    if "id" in args and kind == "Artifact":
        return [({**fixed, "id": value}, None) for value in names.ids]
    if "id" in args and kind == "ArtifactCollection":
        return [({**fixed, "id": value}, where) for value, where in names.collections]
    assert "id" not in args, f"no ids of {kind} for {parent}.{field_name}"
    if "aliasName" in args:
        pool = names.aliases if walked else ["v0"]
        return [({**fixed, "aliasName": value}, project) for value in pool]
    return [(fixed, project)]


# ------------------------------------------------------------------ the documents


def render_args(args: dict[str, Any]) -> str:
    if not args:
        return ""
    return "(" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in args.items()) + ")"


WALK = "walk_"
"""The alias prefix of a walked field: ``walk_<Parent>_<field>_<n>`` (a path's fields are
``path<n>_<m>``)."""

assert not any("_" in p or "_" in f for p, f in walked_fields()), "aliases split on _"


@dataclasses.dataclass(frozen=True)
class Unit:
    """The walk along ``path`` of ``fields``: (parent, field, levels), the parent being
    the type the path ends in or, through an inline fragment, one of its possible
    types."""

    path: tuple[Step, ...]
    fields: tuple[tuple[str, str, int], ...]


class Document:
    """One query: paths from the root, each ending in walked fields. Selections are
    named fragments, so the text stays small however often one repeats."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.fragments: dict[str, str] = {}
        self.roots: list[str] = []
        self.units: list[Unit] = []

    def text(self) -> str:
        return " ".join(["{", *self.roots, "}", *self.fragments.values()])

    def add(self, unit: Unit) -> None:
        """Follow ``unit.path`` from the root, each field once per argument set of
        ``variants`` (an alias each), and select the walked fields at its end."""
        label = f"path{len(self.units)}"
        self.units.append(unit)
        self.roots.append(self._path(unit, unit.path, label, None))

    def _path(self, unit: Unit, path: tuple[Step, ...], label: str, project: Project | None) -> str:
        if not path:
            return self._walked(unit, project)
        step, rest = path[0], path[1:]
        if step.field is None:
            inner = self._path(unit, rest, label, project)
            return f"... on {step.target} {{ {inner} }}" if inner else ""
        out = []
        found = variants(step.parent, step.field, self.names, project, walked=False)
        for i, (args, within) in enumerate(found):
            inner = self._path(unit, rest, f"{label}_{i}", within)
            if inner:
                out.append(f"{label}_{i}: {step.field}{render_args(args)} {{ {inner} }}")
        return " ".join(out)

    def _walked(self, unit: Unit, project: Project | None) -> str:
        end = unit.path[-1].target if unit.path else "Query"
        by_parent: dict[str, list[str]] = collections.defaultdict(list)
        for parent, field_name, levels in unit.fields:
            named = returns(composite(parent).fields[field_name])
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            # The objects the field answers are selected whatever the levels.
            inner = self.selection(named, levels + (0 if "id" in named.fields else 1))
            found = variants(parent, field_name, self.names, project, walked=True)
            by_parent[parent] += [
                f"{WALK}{parent}_{field_name}_{i}: {field_name}{render_args(args)} {{ {inner} }}"
                for i, (args, _project) in enumerate(found)
            ]
        return " ".join(
            " ".join(parts) if parent == end else f"... on {parent} {{ {' '.join(parts)} }}"
            for parent, parts in by_parent.items()
        )

    def selection(self, named: Composite, levels: int) -> str:
        """A spread of every field of ``named`` that needs no argument (pages at
        ``first: 5``): its scalars, and its objects while ``levels`` lasts (a type with
        an ``id`` takes one; connections and edges take none)."""
        name = f"Select{named.name}{levels}"
        if name not in self.fragments:
            self.fragments[name] = ""  # taken: the body below never spreads itself
            parts = [self._field(f, field, levels) for f, field in named.fields.items()]
            if isinstance(named, GraphQLInterfaceType):
                for possible in SCHEMA.get_possible_types(named):
                    extra = " ".join(
                        self._field(f, field, levels)
                        for f, field in possible.fields.items()
                        if f not in named.fields
                    ).strip()
                    if extra:
                        parts.append(f"... on {possible.name} {{ {extra} }}")
            body = " ".join(p for p in parts if p) or "__typename"
            self.fragments[name] = f"fragment {name} on {named.name} {{ {body} }}"
        return f"...{name}"

    def _field(self, name: str, field: GraphQLField, levels: int) -> str:
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            return ""
        args = render_args({"first": PAGE} if "first" in field.args else {})
        named = returns(field)
        if is_leaf_type(named):
            return name + args
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        if levels < need(named.name):
            return ""
        left = levels - (1 if "id" in named.fields else 0)
        return f"{name}{args} {{ {self.selection(named, left)} }}"


@functools.cache
def need(name: str) -> int:
    """The levels a selection of the type ``name`` takes: 1 for a type with an ``id``;
    for a connection or an edge, what the objects it holds take (so a connection whose
    objects are cut off is left out, counts and cursors with it); 0 for the rest."""
    named = composite(name)
    if "id" in named.fields:
        return 1
    inner = [returns(f) for f in named.fields.values()]
    return max((need(t.name) for t in inner if not is_leaf_type(t)), default=0)


def documents(
    names: Names,
    limits: Limits,
    pairs: list[tuple[str, str]],
    levels: tuple[int, ...],
    every_way: bool,
) -> list[Document]:
    """The queries that walk ``pairs``: for every type with fields among them, every
    path of ``paths_to`` (``every_way``) or the shortest only, with those fields, each
    as deep among ``levels`` as the server's limits let; packed into ``PIECES`` queries,
    or more when the limits want it."""

    def measured(units: list[Unit]) -> tuple[Document, int, int]:
        doc = Document(names)
        for unit in units:
            doc.add(unit)
        found = measure(SCHEMA, parse(doc.text()), None, {}, limits.max_page)
        return doc, found.depth, found.cost

    def fits(units: list[Unit]) -> bool:
        _doc, depth, cost = measured(units)
        return depth <= limits.graphql_max_depth and cost <= limits.graphql_max_cost

    # The ways into a concrete type through an interface end at the interface: those of
    # its possible types share the path.
    ends: dict[tuple[Step, ...], list[tuple[str, str]]] = collections.defaultdict(list)
    for parent, field in pairs:
        for path in paths_to(parent) if every_way else [shortest_path(parent)]:
            ends[path[:-1] if path and path[-1].field is None else path].append((parent, field))
    units: list[tuple[Unit, int]] = []
    for path, fields in ends.items():
        chosen: list[tuple[str, str, int]] = []
        for parent, field in fields:
            level = next((n for n in levels if fits([Unit(path, ((parent, field, n),))])), None)
            assert level is not None, f"{parent}.{field}: too deep for the server's limits"
            if chosen and not fits([Unit(path, (*chosen, (parent, field, level)))]):
                units.append((unit := Unit(path, tuple(chosen)), measured([unit])[2]))
                chosen = []
            chosen.append((parent, field, level))
        units.append((unit := Unit(path, tuple(chosen)), measured([unit])[2]))
    out: list[Document] = []
    pending: list[Unit] = []
    spent = 0
    per_query = -(-len(units) // PIECES)
    for unit, cost in units:
        if pending and (spent + cost > limits.graphql_max_cost or len(pending) == per_query):
            out.append(measured(pending)[0])
            pending, spent = [], 0
        pending.append(unit)
        spent += cost
    out.append(measured(pending)[0])
    for doc in out:
        assert fits(doc.units), "a packed query is over the server's limits"
    return out


# ------------------------------------------------------------------ the walk

ADMIN = "root"
"""The server's admin, who reads everything: the walk's witness."""


OPAQUE = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
"""What may be a base64 id (``context.gid``): W&B's ids are opaque to its client, but
anyone can decode them, so a name inside one is as visible as the name."""


def revealed(text: str) -> str:
    """``text``, with what its base64 ids decode to."""
    decoded = []
    for found in OPAQUE.findall(text):
        try:
            decoded.append(base64.b64decode(found, validate=True).decode())
        except (ValueError, UnicodeDecodeError):
            continue
    return "\n".join([text, *decoded])


def walked_answers(data: Any) -> Iterator[tuple[tuple[str, str], Any]]:
    """The answers of the walked fields in ``data``: ((parent, field), answer)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.startswith(WALK):
                parent, field, _n = key[len(WALK) :].split("_")
                yield (parent, field), value
            else:
                yield from walked_answers(value)
    elif isinstance(data, list):
        for item in data:
            yield from walked_answers(item)


@dataclasses.dataclass
class Findings:
    """What the walk found: the markers the admin's answers reach through each walked
    field, the users who followed each from an object they could read, the answers
    refused or in error, and the leaks."""

    reached: dict[tuple[str, str], set[str]]
    followed: dict[tuple[str, str], set[str]]
    refused: list[str] = dataclasses.field(default_factory=list)
    leaked: list[str] = dataclasses.field(default_factory=list)
    queries: int = 0

    def walk(self, world: World, docs: list[Document]) -> None:
        """Send ``docs`` as every user and the admin, and note what they answer."""
        keys = {user: world.keys[user] for user in USERS} | {ADMIN: world.server.admin_key}
        jobs = [(doc.text(), who) for doc in docs for who in keys]

        def send(job: tuple[str, str]) -> httpx.Response:
            return gate_world.gql(world.server, keys[job[1]], job[0])

        with concurrent.futures.ThreadPoolExecutor(workers(world)) as pool:
            answers = list(pool.map(send, jobs))
        self.queries += len(docs)
        for (text, who), response in zip(jobs, answers, strict=True):
            body = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or body.get("errors"):
                problem = json.dumps(body.get("errors"))[:2000] if body else response.text[:2000]
                self.refused.append(f"as {who}: {response.status_code} {problem}")
                continue
            through: set[tuple[str, str]] = set()
            for pair, answer in walked_answers(body["data"]):
                seen = {m for m in MARKERS if m in revealed(json.dumps(answer))}
                if who == ADMIN:
                    self.reached[pair] |= seen
                    continue
                self.followed[pair].add(who)
                if leaks(who, "\n".join(seen)):
                    through.add(pair)
            found = [] if who == ADMIN else leaks(who, revealed(response.text))
            if found:
                self.leaked.append(
                    f"as {who}, sees {found} through {sorted(through) or 'a path'}"
                    f"\nquery: {text}\nanswer: {response.text}"
                )


PIECES = 4
"""Into how many queries a walk is cut, so that several can be in flight at once."""


def workers(world: World) -> int:
    """Queries in flight at once: several for PostgreSQL (the server waits on it); one
    for SQLite, where the server (in this process) gains nothing by it."""
    return 5 if world.server.config.db_url.startswith("postgresql") else 1


def test_every_field_is_walked_or_classified() -> None:
    pairs = walked_fields()
    assert len(pairs) > 60, "the walker found too few fields: is the schema read?"
    leading = {name for name in LEADING if isinstance(SCHEMA.get_type(name), GraphQLObjectType)}
    assert leading - set(FROM_ROOT) == set(NOT_WALKED), "classify the types no query reaches"
    assert set(CANNOT_REACH) <= set(pairs) and set(NOT_FOLLOWED) <= set(pairs)
    for parent, field in pairs:
        assert paths_to(parent), (parent, field)
    # Every argument is classified, and every query fits the server's limits.
    assert documents(names_of(None), Limits(), pairs, SHALLOW, every_way=True)
    assert documents(names_of(None), Limits(), pairs, DEEP, every_way=False)


def test_no_field_leads_where_the_caller_may_not_read(world: World) -> None:
    started, cpu = time.monotonic(), time.process_time()
    pairs = walked_fields()
    names, limits = names_of(world), world.server.config.limits
    findings = Findings({pair: set() for pair in pairs}, {pair: set() for pair in pairs})
    findings.walk(world, documents(names, limits, pairs, SHALLOW, every_way=True))
    shallow = time.monotonic() - started
    deeper = [pair for pair in pairs if not findings.reached[pair]]
    findings.walk(world, documents(names, limits, deeper, DEEP, every_way=False))
    print(
        f"walked {len(pairs)} fields ({len(deeper)} of them deeper too) in"
        f" {findings.queries} queries as {len(USERS)} users and the admin"
        f" in {shallow:.1f} + {time.monotonic() - started - shallow:.1f} s"
        f" ({time.process_time() - cpu:.1f} s of CPU in this process, the server's included)"
    )
    for who in USERS:
        count = sum(who in users for users in findings.followed.values())
        print(f"  {who} followed {count} fields from objects it could read")

    assert not findings.refused, "\n".join(findings.refused)
    assert not findings.leaked, "\n\n".join(findings.leaked)
    # Not vacuous: the admin's answers hold every marker, each walked field reaches one
    # through its own answer (but those that cannot), and some user follows each field
    # from an object it may read (but those that none can in this world).
    assert set().union(*findings.reached.values()) == set(MARKERS)
    unreached = {pair for pair, found in findings.reached.items() if not found}
    assert unreached == set(CANNOT_REACH), (
        f"reach no marker but not classified: {sorted(unreached - set(CANNOT_REACH))};"
        f" classified but reach one: {sorted(set(CANNOT_REACH) - unreached)}"
    )
    unfollowed = {pair for pair, users in findings.followed.items() if not users}
    assert unfollowed == set(NOT_FOLLOWED), (
        f"followed by no user but not classified: {sorted(unfollowed - set(NOT_FOLLOWED))};"
        f" classified but followed: {sorted(set(NOT_FOLLOWED) - unfollowed)}"
    )
