"""Large uploads to an S3 store are checked off the request path (``upload_checks``).

A file assembled from the parts of a multipart upload must be hashed in full before it
becomes a blob; on a real bucket that takes longer than a client gives a request, so a
worker of the app does it in the background and the requests that complete the upload
and commit the version only wait for it. These tests count the object reads and copies
the server's S3 client makes, by who makes them (a worker, or a request), on PostgreSQL
and S3 (moto), with files just above S3's smallest part: the protocol and the counts are
those of a 2 GiB file (``compat/test_large_upload_s3.py`` runs one with the real client).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

import cairn
from cairn.db.models import UploadCheck
from cairn.errors import CommError
from cairn.server.state import ServerState
from cairn.service import upload_checks
from compat.test_uploads import Client, b64md5, manifest_of, put

from .conftest import Server, pg_database, run_server, server_config
from .helpers import S3Calls

MiB = 1024**2
PART = 5 * MiB  # S3's smallest part but the last


@pytest.fixture
def pg_s3(
    tmp_path: Path, postgres_admin_url: str, s3_store_url: str, moto_endpoint: str
) -> Iterator[Server]:
    """A server on PostgreSQL and S3 (moto) whose REST uploads of 6 MiB or more go up in
    parts of 5 MiB, so that a multipart upload stays small here."""
    changes = {
        "store_url": s3_store_url,
        "s3_endpoint_url": moto_endpoint,
        "multipart_threshold": 6 * MiB,
        "part_size": PART,
    }
    with (
        pg_database(postgres_admin_url) as url,
        run_server(server_config(url, tmp_path, **changes)) as server,
    ):
        yield server


def _team(server: Server) -> str:
    name = f"big-{secrets.token_hex(4)}"
    with server.client(server.admin_key) as admin:
        response = admin.post("/api/v1/admin/teams", json={"name": name})
    assert response.status_code == 200, response.text
    return name


def _upload_parts(
    client: Client, artifact_id: str, name: str, declared: bytes, parts: list[bytes]
) -> Any:
    """Ask where ``name`` (declared as ``declared``) goes, PUT ``parts`` there, complete."""
    node = client.files(artifact_id, name, declared, parts)
    urls = node["uploadMultipartUrls"]["uploadUrlParts"]
    etags = []
    for url, part in zip(urls, parts, strict=True):
        response = put(url["uploadUrl"], part)
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])
    done = client.complete(artifact_id, node, etags)
    assert done["data"]["completeMultipartUploadArtifact"]["digest"] == b64md5(declared)
    return node


def _bucket_keys(server: Server, part: str) -> list[str]:
    state = server.state.blob_store
    listing = state.client.list_objects_v2(Bucket=state.bucket, Prefix=state.prefix)
    return [item["Key"] for item in listing.get("Contents", []) if part in item["Key"]]


def _sdk(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, entity: str) -> None:
    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    monkeypatch.setenv("CAIRN_API_KEY", server.admin_key)
    monkeypatch.setenv("CAIRN_ENTITY", entity)
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / f"cold-cache-{secrets.token_hex(3)}"))


def test_the_commit_after_a_multipart_upload_reads_and_copies_no_object(
    pg_s3: Server, cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wandb client's three steps, the manifest sent at once after the completion.
    entity = _team(pg_s3)
    client = Client(pg_s3, entity, "uploads")  # type: ignore[arg-type]  # url and admin_key
    parts = [secrets.token_bytes(PART), secrets.token_bytes(PART), secrets.token_bytes(1234)]
    data = b"".join(parts)
    manifest = manifest_of("big.bin", data)
    artifact_id = client.create("big", manifest)
    calls = S3Calls(pg_s3, monkeypatch)
    _upload_parts(client, artifact_id, "big.bin", data, parts)
    committed = client.commit(artifact_id, manifest)
    assert committed["data"]["commitArtifact"]["artifact"]["digest"] == manifest.digest()
    hexdigest = hashlib.md5(data).hexdigest()
    assert calls.of(hexdigest, "request") == []  # neither the completion nor the commit
    assert calls.of(hexdigest, "check") == ["copy_object", "get_object"]  # read, promoted once
    assert _bucket_keys(pg_s3, "/incoming/") == []

    _sdk(pg_s3, monkeypatch, tmp_path, entity)
    root = cairn.Api().artifact(f"{entity}/uploads/big:v0").download(str(tmp_path / "d"))
    assert (Path(root) / "big.bin").read_bytes() == data


def test_a_multipart_upload_of_other_bytes_never_becomes_a_version(
    pg_s3: Server, cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each part matches the MD5 the client declares for it (S3 joins them), but the
    # whole file is not the one the manifest names.
    entity = _team(pg_s3)
    client = Client(pg_s3, entity, "uploads")  # type: ignore[arg-type]
    claimed = secrets.token_bytes(PART + 10)
    manifest = manifest_of("liar.bin", claimed)
    liar_id = client.create("liar", manifest)
    _upload_parts(client, liar_id, "liar.bin", claimed, [secrets.token_bytes(PART), b"x" * 10])

    refused = client.commit(liar_id, manifest)
    message = refused["errors"][0]["error"]["message"]
    assert "'liar.bin' does not match its digest" in message, refused
    assert refused["errors"][0]["error"]["code"] == "digest_mismatch"
    assert client.files(liar_id, "liar.bin", claimed, [])["uploadUrl"] is not None
    hexdigest = hashlib.md5(claimed).hexdigest()
    assert _bucket_keys(pg_s3, "/incoming/") == []  # the joined object was deleted
    assert _bucket_keys(pg_s3, f"/md5/{hexdigest[:2]}/{hexdigest[2:]}") == []  # not stored
    _sdk(pg_s3, monkeypatch, tmp_path, entity)
    with pytest.raises(CommError):
        cairn.Api().artifact(f"{entity}/uploads/liar:v0")


def test_a_commit_while_the_check_runs_is_refused_for_now_then_succeeds(
    pg_s3: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check is held; the commit waits its bounded time, then answers 503 with
    # Retry-After (which the wandb client retries), and goes through once it is done.
    monkeypatch.setattr(upload_checks, "COMMIT_WAIT_SECONDS", 0.5)
    store = pg_s3.state.blob_store
    release = threading.Event()
    verify = store.verify_staged

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(60)
        return verify(*args, **kwargs)

    monkeypatch.setattr(store, "verify_staged", held)
    entity = _team(pg_s3)
    client = Client(pg_s3, entity, "uploads")  # type: ignore[arg-type]
    parts = [secrets.token_bytes(PART), secrets.token_bytes(99)]
    data = b"".join(parts)
    manifest = manifest_of("big.bin", data)
    artifact_id = client.create("held", manifest)
    _upload_parts(client, artifact_id, "big.bin", data, parts)
    body = manifest.to_json_bytes()
    url = client.ok(
        """mutation($input: CreateArtifactManifestInput!) {
            createArtifactManifest(input: $input) { artifactManifest { file { uploadUrl } } } }""",
        input={"artifactID": artifact_id, "name": "wandb_manifest.json", "digest": b64md5(body)},
    )["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]

    early = httpx.put(url, content=body, timeout=60)
    assert early.status_code == 503, early.text
    assert early.json()["error"]["code"] == "not_ready"
    assert early.headers["Retry-After"] == str(upload_checks.RETRY_AFTER_SECONDS)
    release.set()
    deadline = time.monotonic() + 60  # a safety net: the check takes well under a second
    while (answer := httpx.put(url, content=body, timeout=60)).status_code == 503:
        assert time.monotonic() < deadline, answer.text
    assert answer.status_code == 200, answer.text
    done = client.ok(
        "mutation($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { digest } } }",
        id=artifact_id,
    )
    assert done["commitArtifact"]["artifact"]["digest"] == manifest.digest()


DIGEST = b64md5(b"never uploaded")


def test_one_process_takes_each_check_and_another_takes_over_a_lapsed_one(
    tmp_path: Path, postgres_admin_url: str, s3_store_url: str, moto_endpoint: str
) -> None:
    # Two app processes' states on one PostgreSQL and bucket (no workers running).
    changes = {"store_url": s3_store_url, "s3_endpoint_url": moto_endpoint}
    with pg_database(postgres_admin_url) as url:
        config = server_config(url, tmp_path, **changes)
        first, second = ServerState(config), ServerState(config)
        try:
            upload_checks.queue(first.store, "team", DIGEST, "md5", "srv/incoming/x")
            upload_checks.queue(second.store, "team", DIGEST, "md5", "srv/incoming/x")
            job = upload_checks.claim(first.store)
            assert job is not None
            assert upload_checks.claim(second.store) is None  # held by the first
            with second.db.write() as session:  # the first process stopped: its lease ran out
                past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
                session.execute(update(UploadCheck).values(lease_until=past))
            taken = upload_checks.claim(second.store)
            assert taken is not None and taken.id == job.id and taken.token != job.token
            with pytest.raises(upload_checks.Interrupted):
                upload_checks._renew(first.store, job)
            # the object is not there (nor the blob): the check fails, nothing is stored
            assert upload_checks.run(second.store, taken) is False
            assert upload_checks.upload_failed(second.store, "team", DIGEST, "md5")
        finally:
            first.close()
            second.close()


def test_a_check_that_keeps_failing_is_given_up_after_its_attempts(
    tmp_path: Path,
    postgres_admin_url: str,
    s3_store_url: str,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bucket keeps failing: each attempt leaves the check queued, the last fails it.
    changes = {"store_url": s3_store_url, "s3_endpoint_url": moto_endpoint}
    with pg_database(postgres_admin_url) as url:
        state = ServerState(server_config(url, tmp_path, **changes))
        try:

            def unreachable(*_args: Any, **_kwargs: Any) -> Any:
                raise ConnectionError("bucket unreachable")

            monkeypatch.setattr(state.blob_store, "verify_staged", unreachable)
            upload_checks.queue(state.store, "team", DIGEST, "md5", "srv/incoming/y")
            for attempt in range(1, upload_checks.MAX_ATTEMPTS + 1):
                with state.db.write() as session:  # no waiting for the retry delay
                    session.execute(update(UploadCheck).values(lease_until=None))
                job = upload_checks.claim(state.store)
                assert job is not None, attempt
                assert upload_checks.run(state.store, job) is False
                failed = upload_checks.upload_failed(state.store, "team", DIGEST, "md5")
                assert failed == (attempt == upload_checks.MAX_ATTEMPTS)
            assert upload_checks.claim(state.store) is None
        finally:
            state.close()


def test_the_cairn_sdk_logs_a_multipart_file_without_reads_in_its_requests(
    pg_s3: Server, cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The REST API's multipart path: its completion waits for the same background check.
    entity = _team(pg_s3)
    _sdk(pg_s3, monkeypatch, tmp_path, entity)
    monkeypatch.setenv("CAIRN_CHUNK_THRESHOLD", "0")  # whole, not as chunks (issue 24)
    data = secrets.token_bytes(2 * PART + 777)  # over the 6 MiB threshold: three parts
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    calls = S3Calls(pg_s3, monkeypatch)
    with cairn.init(project="p", job_type="t") as run:
        artifact = cairn.Artifact("big", type="dataset")
        artifact.add_file(str(source))
        run.log_artifact(artifact).wait()
    hexdigest = hashlib.md5(data).hexdigest()
    assert calls.of(hexdigest, "request") == []
    assert calls.of(hexdigest, "check") == ["copy_object", "get_object"]
    _sdk(pg_s3, monkeypatch, tmp_path, entity)  # a cold client cache
    root = cairn.Api().artifact(f"{entity}/p/big:v0").download(str(tmp_path / "d"))
    assert (Path(root) / "big.bin").read_bytes() == data
