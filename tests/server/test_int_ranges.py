"""Numbers out of the range a store holds are bad input on both deployments: 400 over
REST, a GraphQL error of the caller, and nothing written (the fuzzer met 500s: a run's
exit code of 2^31 on PostgreSQL's INTEGER column, 2^63 anywhere: SQLite's OverflowError,
PostgreSQL's "bigint out of range"). TTLs are bounded by ``MAX_TTL_SECONDS``, upload
sizes by what the server takes."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.core.ttl import MAX_TTL_SECONDS
from cairn.service.limits import MAX_BLOB_BYTES, MAX_UPLOAD_PARTS

from .conftest import Server
from .gate_world import commit_body, gql, log, md5_b64, ok

BIG = 2**63  # one more than the largest signed 64-bit integer
P = "/api/v1/entities/root/projects/p"
COMMIT = P + "/versions"


def _commit(**extra: Any) -> dict[str, Any]:
    return commit_body("p", "c", {"b.txt": b"new content"}, **extra)


@pytest.mark.parametrize(
    ("method", "path", "body", "names"),
    [
        ("POST", P + "/runs/r0/finish", {"exit_code": 2**31}, "exit_code"),
        ("POST", P + "/runs/r0/finish", {"exit_code": -(2**31) - 1}, "exit_code"),
        ("POST", P + "/runs/r0/finish", {"exit_code": BIG}, "exit_code"),
        ("POST", P + "/runs/r0/history", {"data": {"a": 1}, "step": BIG}, "step"),
        ("PUT", "/api/v1/entities/root/default-ttl", {"seconds": BIG}, "TTL"),
        ("PUT", "/api/v1/entities/root/default-ttl", {"seconds": MAX_TTL_SECONDS + 1}, "TTL"),
        ("PUT", P + "/default-ttl", {"seconds": BIG}, "TTL"),
        ("POST", COMMIT, _commit(ttl_duration_seconds=BIG), "TTL"),
        ("POST", COMMIT, _commit(ttl_duration_seconds=MAX_TTL_SECONDS + 1), "TTL"),
        ("POST", COMMIT, _commit(history_step=BIG), "history_step"),
        ("POST", COMMIT, _commit(history_step=-1), "history_step"),
        ("PATCH", "/api/v1/versions/{v0}", "{edit}", "TTL"),
        ("GET", P + f"/runs/r0/history?min_step={BIG}", None, "Integer out of range"),
    ],
)
def test_a_number_out_of_range_is_bad_input_and_changes_nothing(
    gate_server: Server, method: str, path: str, body: Any, names: str
) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        v0 = log(admin, "root", "p", "c", {"a.txt": b"a"}, "r0")
        ok(admin.post(P + "/runs/r0/history", json={"data": {"a": 1}, "step": 3}))
        if body == "{edit}":
            body = {"entity": "root", "project": "p", "collection": "c"}
            body |= {"description": None, "metadata": {}, "ttl_duration_seconds": BIG}
        answer = admin.request(method, path.replace("{v0}", v0["id"]), json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_argument"
        assert names in answer.json()["error"]["message"]

        run = ok(admin.get(P + "/runs/r0"))
        assert (run["state"], run["last_step"]) == ("running", 3)
        assert ok(admin.get("/api/v1/entities/root/default-ttl"))["seconds"] is None
        assert ok(admin.get(P + "/default-ttl"))["seconds"] is None
        assert ok(admin.get(P + "/collections/c/versions"))["total"] == 1
        version = ok(admin.get(f"/api/v1/versions/{v0['id']}"))
        assert (version["ttl_duration_seconds"], version["ttl_is_inherited"]) == (None, True)


def test_the_largest_numbers_in_range_are_stored(gate_server: Server) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        log(admin, "root", "p", "c", {"a.txt": b"a"}, "r0")
        top = {"data": {"a": 1}, "step": BIG - 1}
        assert ok(admin.post(P + "/runs/r0/history", json=top))["step"] == BIG - 1
        # a version the run logs now is at its step, which can grow no further
        by_run = log(
            admin, "root", "p", "c", {"b.txt": b"b"}, "r0", ttl_duration_seconds=MAX_TTL_SECONDS
        )
        assert by_run["history_step"] == BIG - 1
        assert by_run["ttl_duration_seconds"] == MAX_TTL_SECONDS
        given = log(admin, "root", "p", "c", {"c.txt": b"c"}, history_step=BIG - 1)
        assert given["history_step"] == BIG - 1
        ok(admin.post(P + "/runs/r0/finish", json={"exit_code": -(2**31)}))
        assert ok(admin.get(P + "/runs/r0"))["state"] == "failed"
        ok(admin.post(P + "/runs/r0/finish", json={"exit_code": 2**31 - 1}))
        for path in ("/api/v1/entities/root/default-ttl", P + "/default-ttl"):
            ok(admin.put(path, json={"seconds": MAX_TTL_SECONDS}))
            assert ok(admin.get(path))["seconds"] == MAX_TTL_SECONDS


def test_an_upload_larger_than_the_server_takes_is_refused(gate_server: Server) -> None:
    config = gate_server.config
    part_size = max(config.part_size, 5 * 1024 * 1024 if config.store_url else 1)
    largest = min(MAX_BLOB_BYTES, part_size * MAX_UPLOAD_PARTS)
    blob = {"digest": md5_b64(b"x"), "algorithm": "md5"}
    base = "/api/v1/entities/root/blobs"
    with gate_server.client(gate_server.admin_key) as admin:
        for size in (BIG, largest + 1):
            sized = {**blob, "size": size}
            for route, body in (
                ("upload-urls", {"blobs": [sized]}),
                ("multipart", sized),
                ("multipart/complete", {**sized, "upload_id": "0" * 32}),
            ):
                answer = admin.post(f"{base}/{route}", json=body)
                assert answer.status_code == 400, (route, size, answer.text)
                message = answer.json()["error"]["message"]
                expected = "size must be from 0 to" if size == BIG else "larger than this server"
                assert expected in message, message
        sized = {**blob, "size": largest}
        assert ok(admin.post(f"{base}/upload-urls", json={"blobs": [sized]}))["urls"][0][
            "multipart"
        ]


CREATE = """mutation($i: CreateArtifactInput!) { createArtifact(input: $i) {
    artifact { id state } } }"""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("historyStep", BIG, f"history_step must be from 0 to {BIG - 1}, got {BIG}"),
        ("historyStep", "7", "history_step must be an integer, got str"),
        ("ttlDurationSeconds", BIG, "is over the maximum"),
        ("ttlDurationSeconds", 1.5, "Artifact TTL must be an integer, got float"),
    ],
)
def test_create_artifact_refuses_a_number_out_of_range_before_storing_a_draft(
    gate_server: Server, field: str, value: Any, message: str
) -> None:
    """The draft used to be stored and its commit (the manifest's upload) to fail: 500."""
    draft = {
        "entityName": "root",
        "projectName": "p",
        "artifactTypeName": "dataset",
        "artifactCollectionName": "drafted",
        "digest": "d" * 32,
        field: value,
    }
    answer = gql(gate_server, gate_server.admin_key, CREATE, {"i": draft})
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"]["createArtifact"] is None
    assert [e["message"] for e in body["errors"]] == [message] or message in str(body["errors"])
    draft[field] = None
    fine = gql(gate_server, gate_server.admin_key, CREATE, {"i": draft}).json()
    assert fine["data"]["createArtifact"]["artifact"]["state"] == "PENDING"
