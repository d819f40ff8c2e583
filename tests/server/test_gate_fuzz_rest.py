"""Fuzzing the REST API through the one gate: schemathesis generates requests for every
operation of ``docs/openapi.json`` (the signed ``/blobs/`` transfers aside: they take no
key and are tested in ``test_api``/``test_blob_*``), with path parameters and the names in
bodies drawn from ``gate_fuzz.Pools`` (the world's names and ids, tricky and random
strings, hostile JSON), and sends each as three callers drawn from alice, bob, carol, dave
and one with no valid key, writes included: reads first, then writes, the reads again,
deletions last (``phases``).

Properties, on each answer: no 5xx; no marker its caller may not see
(``gate_fuzz.exposed``). State carries over from one request to the next within a test,
so a write that would show a marker to another user shows up in the next reads, and in
a last sweep of every listing as every caller.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import given, reject, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode

from .gate_fuzz import (
    ANONYMOUS,
    CALLERS,
    GRANTS,
    SETTINGS,
    Pools,
    ServerErrors,
    answer_text,
    callers_of,
    exposed,
    scaled,
    seed_of,
    server_errors,
    strings_of,
)
from .gate_world import World

OPENAPI = Path(__file__).parents[2] / "docs" / "openapi.json"
# Examples per operation (each sent as ``CALLERS_PER_REQUEST`` callers), by phase.
READ_EXAMPLES = 4
WRITE_EXAMPLES = 5
REREAD_EXAMPLES = 2
DELETE_EXAMPLES = 3

# The pool a path parameter, query parameter or body field draws its names from.
PATH_KINDS = {
    "entity": "entity",
    "project": "project",
    "collection": "collection",
    "selector": "selector",
    "run_id": "run",
    "version_id": "version",
    "name": "registry",
    "user": "user",
    "key_id": "key",
}
QUERY_KINDS = {"organization": "organization", "type": "type"}
BODY_KINDS = {
    "entity": "entity",
    "project": "project",
    "collection": "collection",
    "version_id": "version",
    "run_id": "run",
    "role": "role",
    "visibility": "visibility",
    "aliases": "alias",
    "aliases_to_add": "alias",
    "aliases_to_remove": "alias",
    "tags": "alias",
    "tags_to_add": "alias",
    "tags_to_remove": "alias",
    "admin": "user",
    "type": "type",
    "artifact_types": "type",
    "digest": "digest",
    "algorithm": "algorithm",
    "manifest_json": "json",
}
# What ``name`` in a body names, by path.
BODY_NAME_KINDS = {
    "/api/v1/registries": "registry",
    "/api/v1/admin/users": "user",
    "/api/v1/admin/teams": "entity",
}
MEMBERS = re.compile(r"^/api/v1/entities/([^/]+)/members/")


@functools.cache
def operations() -> dict[str, APIOperation]:
    """The operations of the OpenAPI document the fuzzer calls, by label."""
    schema = schemathesis.openapi.from_path(OPENAPI, config=schemathesis.Config())
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/blobs/"):
            found[operation.label] = operation
    return found


@functools.cache
def cases(label: str, mode: GenerationMode) -> st.SearchStrategy[Case]:
    return operations()[label].as_strategy(generation_mode=mode)


def test_the_operations_are_all_fuzzed() -> None:
    """Every operation of the document but the signed transfers is generated (a new route
    is fuzzed as soon as it is in ``docs/openapi.json``)."""
    document = json.loads(OPENAPI.read_text())
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if not path.startswith("/blobs/")
    }
    assert set(operations()) == documented
    assert len(documented) > 40


def named(
    data: st.DataObject, name: str, kind: str, pools: Pools, place: dict[str, str] | None
) -> str:
    """A value for the parameter or field ``name``: mostly the place's, else from the pool
    of its kind."""
    if place is not None and name in place and data.draw(st.integers(0, 5), f"{name}?") > 0:
        return place[name]
    return data.draw(pools.strategy(kind), name)


def substituted(
    data: st.DataObject, value: Any, key: str | None, pools: Pools, place: dict[str, str] | None
) -> Any:
    """``value`` with most of the strings of the fields ``BODY_KINDS`` knows replaced by
    names of the place or of their kind's pool."""
    if isinstance(value, dict):
        return {k: substituted(data, v, k, pools, place) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(data, item, key, pools, place) for item in value]
    kind = BODY_KINDS.get(key or "")
    if isinstance(value, str) and kind is not None and data.draw(st.integers(0, 3), f"{key}?"):
        return named(data, str(key), kind, pools, place)
    return value


def authorization(world: World, caller: str, anonymous: str) -> dict[str, str]:
    if caller != ANONYMOUS:
        return {"Authorization": f"Bearer {world.keys[caller]}"}
    return {"Authorization": anonymous} if anonymous else {}


def request_of(data: st.DataObject, label: str, pools: Pools) -> dict[str, Any]:
    """One request for ``label``: schemathesis's case, with names from the pools."""
    operation = operations()[label]
    mode = data.draw(
        st.sampled_from([GenerationMode.POSITIVE] * 4 + [GenerationMode.NEGATIVE]), "mode"
    )
    try:
        case = data.draw(cases(label, mode), "case")
    except Exception:  # schemathesis fails on a few negative cases of its own
        if mode is GenerationMode.NEGATIVE:
            reject()
        raise
    place = data.draw(st.one_of(st.sampled_from(pools.places), st.none()), "place")
    path_values = {
        name: named(data, name, PATH_KINDS.get(name, "user"), pools, place)
        for name in re.findall(r"{(\w+)}", operation.path)
    }
    path = operation.path
    for name, value in path_values.items():
        path = path.replace(f"{{{name}}}", escape(value))
    query = {
        k: data.draw(pools.strategy(QUERY_KINDS[k]), f"query {k}")
        if k in QUERY_KINDS and data.draw(st.booleans())
        else v
        for k, v in (case.query or {}).items()
    }
    body = case.body if not isinstance(case.body, schemathesis.core.NotSet) else None
    if isinstance(body, dict) and "name" in body and operation.path in BODY_NAME_KINDS:
        body["name"] = data.draw(pools.strategy(BODY_NAME_KINDS[operation.path]), "body name")
    if isinstance(body, dict | list):
        body = substituted(data, body, None, pools, place)
    return {
        "method": operation.method.upper(),
        "path": path,
        "path_values": path_values,
        "query": query,
        "body": body,
        "media_type": case.media_type,
    }


def sent_strings(request: dict[str, Any]) -> list[str]:
    strings = list(request["path_values"].values())
    strings += strings_of(request["query"])
    if not isinstance(request["body"], bytes):
        strings += strings_of(request["body"])
    return strings


def skipped(pools: Pools, caller: str, request: dict[str, Any]) -> bool:
    """Whether ``caller`` sends ``request``: not a write that could rightly publish a marker
    (``gate_fuzz``), nor one that deletes the caller's own key (the rest of the run would
    go unauthenticated)."""
    if request["method"] in ("GET", "HEAD"):
        return False
    if pools.may_publish(caller, sent_strings(request)):
        return True
    members = MEMBERS.match(request["path"])
    if members and (caller, members.group(1)) in GRANTS:
        return True
    own_key = pools.world.key_ids.get(caller)
    return request["method"] == "DELETE" and request["path_values"].get("key_id") == own_key


def escape(value: Any) -> str:
    """``value`` percent-encoded for a URL, lone surrogates too (as their UTF-8 bytes)."""
    if isinstance(value, bool):
        value = str(value).lower()
    text = "" if value is None else str(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_string(query: dict[str, Any]) -> str:
    pairs = [
        f"{escape(k)}={escape(item)}"
        for k, v in query.items()
        for item in (v if isinstance(v, list) else [v])
    ]
    return "?" + "&".join(pairs) if pairs else ""


def send(client: httpx.Client, request: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    body = request["body"]
    kwargs: dict[str, Any] = {"headers": dict(headers)}
    if isinstance(body, bytes) or (
        isinstance(body, str) and request["media_type"] != "application/json"
    ):
        kwargs["content"] = body
        kwargs["headers"]["Content-Type"] = request["media_type"] or "application/octet-stream"
    elif body is not None or request["media_type"] == "application/json":
        # ASCII JSON: lone surrogates travel as escapes (as other clients may send them).
        kwargs["content"] = json.dumps(body).encode()
        kwargs["headers"]["Content-Type"] = "application/json"
    url = request["path"] + query_string(request["query"])
    return client.request(request["method"], url, **kwargs)


def describe(caller: str, request: dict[str, Any], response: httpx.Response) -> str:
    body = request["body"]
    shown = body[:200] if isinstance(body, bytes) else json.dumps(body)[:2000]
    return (
        f"as {caller}: {request['method']} {request['path']} query={request['query']!r} "
        f"body={shown}\n-> {response.status_code} {response.text[:2000]}"
    )


# Reads that show what each caller can see, after everything the fuzzer did.
SWEEP = [
    "/api/v1/whoami",
    "/api/v1/registries",
    "/api/v1/registries/open",
    "/api/v1/registries/open/members",
    "/api/v1/registries/zzlocked",
    "/api/v1/entities/acme/projects/wandb-registry-open/collections",
    "/api/v1/entities/acme/projects/wandb-registry-open/collections/open-coll/versions",
    "/api/v1/entities/acme/projects/wandb-registry-zzlocked/collections",
    "/api/v1/entities/vision/projects/p/collections",
    "/api/v1/entities/vision/projects/p/collections/shared/versions",
    "/api/v1/entities/vision/projects/p/types",
    "/api/v1/entities/vision/members",
    "/api/v1/entities/other/members",
    "/api/v1/entities/vision/projects/p/runs/r1",
    "/api/v1/entities/vision/projects/p/runs/r1/versions",
    "/api/v1/entities/vision/projects/p/runs/r1/versions?used=true",
]
for _who in ("alice", "bob", "carol", "dave"):
    SWEEP += [f"/api/v1/users/{_who}/keys", f"/api/v1/entities/{_who}/projects/p/collections"]


def sweep(world: World) -> None:
    """Every caller reads the listings and ``world.v1``'s lineage and links: nothing any
    caller did may have put a marker there that the reader must not see."""
    paths = [*SWEEP]
    for version in ("v1", "private", "hidden", "carol_version"):
        vid = getattr(world, version)["id"]
        paths += [f"/api/v1/versions/{vid}{tail}" for tail in ("", "/lineage", "/links")]
    for caller in CALLERS:
        with world.server.client(world.keys.get(caller)) as client:
            for path in paths:
                response = client.get(path)
                assert response.status_code < 500, (caller, path, response.text)
                found = exposed(caller, answer_text(response), [path])
                assert found == [], (caller, path, response.text)


def fuzz_operation(
    label: str,
    examples: int,
    phase: str,
    world: World,
    pools: Pools,
    clients: dict[str, httpx.Client],
    errors: ServerErrors,
) -> None:
    """Send ``examples`` requests of ``label``, each as ``CALLERS_PER_REQUEST`` callers."""

    @seed(seed_of(f"{phase} {label}"))
    @settings(SETTINGS, max_examples=scaled(examples))
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        request = request_of(data, label, pools)
        anonymous = data.draw(
            st.sampled_from(["", "Bearer nope", "Basic YXBpOm5vcGU=", "Token x"]), "anon"
        )
        for caller in callers_of(data):
            if skipped(pools, caller, request):
                continue
            response = send(clients[caller], request, authorization(world, caller, anonymous))
            assert response.status_code < 500, (
                describe(caller, request, response) + "\n" + "\n".join(errors.take())
            )
            found = exposed(caller, answer_text(response), sent_strings(request))
            assert found == [], (found, describe(caller, request, response))

    fuzz()


def phases() -> list[tuple[str, list[str], int]]:
    """The operations in the order they run, with their examples: reads, writes, the
    reads again (on what the writes left), deletions last."""
    labels = sorted(operations())
    reads = [label for label in labels if label.startswith("GET ")]
    deletes = [label for label in labels if label.startswith("DELETE ")]
    writes = [label for label in labels if label not in reads and label not in deletes]
    return [
        ("read", reads, READ_EXAMPLES),
        ("write", writes, WRITE_EXAMPLES),
        ("reread", reads, REREAD_EXAMPLES),
        ("delete", deletes, DELETE_EXAMPLES),
    ]


def test_rest_fuzz(world: World) -> None:
    """Every operation, as every caller: no 5xx, no marker its caller may not see."""
    pools = Pools(world)
    clients = {caller: world.server.client() for caller in CALLERS}
    try:
        with server_errors() as errors:
            for phase, labels, examples in phases():
                for label in labels:
                    fuzz_operation(label, examples, phase, world, pools, clients, errors)
            sweep(world)
    finally:
        for client in clients.values():
            client.close()
