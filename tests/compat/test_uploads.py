"""Uploads of the wandb protocol, driven over HTTP exactly as the client drives them, on
a directory store and on S3 (moto): with S3, files go to presigned URLs of the bucket and
large ones become an S3 multipart upload that ``completeMultipartUploadArtifact`` joins.

The real client only splits files of 2 GiB or more, too big for an in-memory S3, so the
multipart path is exercised here with small parts (the 2 GiB run with the real client is
``test_flows.test_wandb_multipart_upload``). Wrong bytes are refused and never stored.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.core.manifest import Manifest, ManifestEntry
from serverproc import ServerProcess

PART = 5 * 1024 * 1024  # S3's smallest part but the last


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Client:
    """GraphQL of the facade as the wandb client sends it (Basic ``api:<key>``)."""

    def __init__(self, server: ServerProcess, entity: str, project: str) -> None:
        self.http = httpx.Client(base_url=server.url, auth=("api", server.admin_key), timeout=60)
        self.entity, self.project = entity, project

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    def ok(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.gql(query, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def create(self, name: str, manifest: Manifest) -> str:
        data = self.ok(
            """mutation($input: CreateArtifactInput!) {
                createArtifact(input: $input) { artifact { id state } } }""",
            input={
                "entityName": self.entity,
                "projectName": self.project,
                "artifactTypeName": "model",
                "artifactCollectionName": name,
                "digest": manifest.digest(),
                "aliases": [{"alias": "latest", "artifactCollectionName": name}],
                "labels": None,  # an input key the schema does not know: dropped
            },
        )
        assert data["createArtifact"]["artifact"]["state"] == "PENDING"
        return str(data["createArtifact"]["artifact"]["id"])

    def files(self, artifact_id: str, name: str, data: bytes, parts: list[bytes]) -> Any:
        spec: dict[str, Any] = {"artifactID": artifact_id, "name": name, "md5": b64md5(data)}
        if parts:
            spec["uploadPartsInput"] = [
                {"partNumber": n, "hexMD5": hashlib.md5(p).hexdigest()}
                for n, p in enumerate(parts, 1)
            ]
        out = self.ok(
            """mutation($input: CreateArtifactFilesInput!) {
                createArtifactFiles(input: $input) { files { edges { node {
                    storagePath uploadUrl uploadHeaders
                    uploadMultipartUrls { uploadID uploadUrlParts { partNumber uploadUrl } }
                } } } } }""",
            input={"storageLayout": "V2", "artifactFiles": [spec]},
        )
        return out["createArtifactFiles"]["files"]["edges"][0]["node"]

    def complete(self, artifact_id: str, node: Any, hexmd5s: list[str]) -> dict[str, Any]:
        return self.gql(
            """mutation($input: CompleteMultipartUploadArtifactInput!) {
                completeMultipartUploadArtifact(input: $input) { digest } }""",
            input={
                "completeMultipartAction": "Complete",
                "completedParts": [
                    {"partNumber": n, "hexMD5": h} for n, h in enumerate(hexmd5s, 1)
                ],
                "artifactID": artifact_id,
                "storagePath": node["storagePath"],
                "uploadID": node["uploadMultipartUrls"]["uploadID"],
            },
        )

    def commit(self, artifact_id: str, manifest: Manifest) -> dict[str, Any]:
        body = manifest.to_json_bytes()
        data = self.ok(
            """mutation($input: CreateArtifactManifestInput!) {
                createArtifactManifest(input: $input) {
                    artifactManifest { file { uploadUrl } } } }""",
            input={
                "artifactID": artifact_id,
                "name": "wandb_manifest.json",
                "digest": b64md5(body),
            },
        )
        url = data["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]
        uploaded = httpx.put(url, content=body, timeout=60)
        if uploaded.status_code != 200:  # the manifest upload commits: refused
            return {"errors": [uploaded.json()]}
        return self.gql(
            """mutation($id: ID!) {
                commitArtifact(input: {artifactID: $id}) { artifact { digest } } }""",
            id=artifact_id,
        )


def put(url: str, data: bytes, headers: list[str] | None = None) -> httpx.Response:
    sent = dict(h.split(":", 1) for h in headers or [])
    return httpx.put(url, content=data, headers=sent, timeout=60)


def manifest_of(name: str, data: bytes) -> Manifest:
    manifest = Manifest()
    manifest.add_entry(ManifestEntry(path=name, digest=b64md5(data), size=len(data)))
    return manifest


@pytest.mark.slow
@pytest.mark.parametrize("store", ["directory", "s3"])
def test_uploads_single_and_multipart(
    store: str,
    request: pytest.FixtureRequest,
    cairn_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server: ServerProcess = request.getfixturevalue(
        "wandb_server" if store == "directory" else "cairn_server_pg"
    )
    entity = server.new_team("uploads")
    client = Client(server, entity, "uploads")
    parts = [secrets.token_bytes(PART), secrets.token_bytes(1000)]
    data = b"".join(parts)
    manifest = manifest_of("big.bin", data)
    artifact_id = client.create("parts", manifest)

    # each part answers its ETag (its MD5); with S3 the parts go straight to the bucket
    node = client.files(artifact_id, "big.bin", data, parts)
    urls = node["uploadMultipartUrls"]["uploadUrlParts"]
    assert [u["partNumber"] for u in urls] == [1, 2]
    assert urls[0]["uploadUrl"].startswith(server.url) == (store == "directory")
    if store == "directory":  # a part that is not what was declared: refused at once
        assert put(urls[0]["uploadUrl"], parts[1]).status_code == 400
    etags = []
    for url, part in zip(urls, parts, strict=True):
        response = put(url["uploadUrl"], part)
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])  # the client sends them back as answered
    assert etags == [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    # parts that are not the uploaded ones: refused, nothing stored
    wrong = client.complete(artifact_id, node, [etags[0], hashlib.md5(b"other").hexdigest()])
    assert wrong["errors"][0]["message"]
    assert client.files(artifact_id, "big.bin", data, [])["uploadUrl"] is not None
    done = client.complete(artifact_id, node, etags)
    assert done["data"]["completeMultipartUploadArtifact"]["digest"] == b64md5(data)
    again = client.complete(artifact_id, node, etags)  # a repeated completion succeeds
    assert again["data"]["completeMultipartUploadArtifact"]["digest"] == b64md5(data)
    # on S3 the joined file is checked in the background; the commit waits for the check
    committed = client.commit(artifact_id, manifest)
    assert committed["data"]["commitArtifact"]["artifact"]["digest"] == manifest.digest()
    assert client.files(artifact_id, "big.bin", data, [])["uploadUrl"] is None  # stored

    # parts that match their own MD5s but not the file's: the joined object is refused
    liar = secrets.token_bytes(PART + 10)
    claimed = manifest_of("liar.bin", liar)
    liar_id = client.create("liar", claimed)
    node = client.files(liar_id, "liar.bin", liar, parts)
    for url, part in zip(node["uploadMultipartUrls"]["uploadUrlParts"], parts, strict=True):
        assert put(url["uploadUrl"], part).status_code == 200
    refused = client.complete(liar_id, node, [hashlib.md5(p).hexdigest() for p in parts])
    if store == "directory":  # S3 checks the whole file in the background
        assert "do not match" in refused["errors"][0]["message"]
        assert str(tmp_path.parent) not in refused["errors"][0]["message"]  # no server paths
    assert client.files(liar_id, "liar.bin", liar, [])["uploadUrl"] is not None
    assert "errors" in client.commit(liar_id, claimed)

    # a single file; on S3 a presigned PUT that must carry Content-MD5 (S3 refuses other
    # bytes; moto does not, and then the server's own check refuses them)
    small = b"small file\n"
    single = manifest_of("s.txt", small)
    single_id = client.create("single", single)
    node = client.files(single_id, "s.txt", small, [])
    md5_header = any(h.startswith("Content-MD5:") for h in node["uploadHeaders"])
    assert md5_header == (store == "s3")
    put(node["uploadUrl"], b"not it", node["uploadHeaders"])
    node = client.files(single_id, "s.txt", small, [])
    assert node["uploadUrl"] is not None
    assert "errors" in client.commit(single_id, single)
    assert put(node["uploadUrl"], small, node["uploadHeaders"]).status_code == 200
    assert "errors" not in client.commit(single_id, single)

    # what went up in parts is what Cairn's SDK reads
    import cairn

    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    monkeypatch.setenv("CAIRN_API_KEY", server.admin_key)
    root = Path(cairn.Api().artifact(f"{entity}/uploads/parts:v0").download(str(tmp_path / "d")))
    assert (root / "big.bin").read_bytes() == data
