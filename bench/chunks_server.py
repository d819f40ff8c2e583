"""``python -m bench --chunks-server``: large files through ``cairn server`` as chunks (issue 24).

On each server store (a directory, and S3 on moto's server), in a fresh team each:

- a Cairn client logs v0 of a 1 GiB file of random bytes, then v1: the same file after 10
  scattered edits of 1 MiB. Rows: the bytes the client uploaded for v1 (chunk bytes sent,
  counted by the client) and the bytes v1 added to the team's part of the store (its
  blobs, chunks and chunk lists, listed before and after), each against the file size
  (targets: ≤ 3 %);
- a second client (its own cache) downloads v0, then v1: the bytes it fetched for v1
  against the file size (target ≤ 5 %);
- the official client's read path for a file stored as chunks only (v1): one GET of the
  server's signed download URL (reassembled and streamed by the server), against one GET
  of a whole object of the same size (the same file logged whole: a presigned S3 URL, or
  the directory store's file), timed from this process with ``httpx``; this is what
  ``docs/chunks.md`` chose between.

Figures print as a table and go to ``<cache>/results-chunks-server.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.server import Servers, _boto_kwargs

GIB = 1024**3
MIB = 1024**2
EDITS = 10

LOG = """
import json, sys, time
import cairn
from cairn.sdk.backend_cache import backend_for
path, name = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
with cairn.init(project="bench", job_type="bench") as run:
    artifact = cairn.Artifact(name, "model")
    artifact.add_file(path, name="weights.bin")
    run.log_artifact(artifact)
stats = backend_for()._transfers.chunks.stats
print(json.dumps({"seconds": time.perf_counter() - t0, "sent": stats.sent}))
"""

GET = """
import json, sys, time
import cairn
from cairn.sdk.backend_cache import backend_for
ref, dest = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
cairn.Api().artifact(ref).download(root=dest)
stats = backend_for()._transfers.chunks.stats
print(json.dumps({"seconds": time.perf_counter() - t0, "fetched": stats.fetched}))
"""


def _files(data: Path) -> tuple[Path, Path]:
    """v0 (1 GiB of random bytes) and v1 (10 scattered 1 MiB edits), made once."""
    root = data / "chunks-server"
    v0, v1 = root / "v0.bin", root / "v1.bin"
    done = root / "done"
    if done.exists():
        return v0, v1
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(24)
    with open(v0, "wb") as out:
        for _ in range(GIB // (64 * MIB)):
            out.write(rng.randbytes(64 * MIB))
    with open(v0, "rb") as src, open(v1, "wb") as out:
        while block := src.read(64 * MIB):
            out.write(block)
    with open(v1, "r+b") as out:
        for index in range(EDITS):
            out.seek(index * (GIB // EDITS) + 7 * MIB + index * 4099)
            out.write(rng.randbytes(MIB))
    done.touch()
    return v0, v1


def _run(script: str, env: dict[str, str], *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _store_bytes(servers: Servers, team: str) -> int:
    """Bytes of ``team``'s blobs, chunks and chunk lists in the store."""
    if servers.directory:
        store = servers.work / "store"
        return sum(
            path.stat().st_size
            for folder in (store / "entities" / team, store / "chunks" / team)
            for path in folder.rglob("*")
            if path.is_file() and "tmp" not in path.parts
        )
    import boto3

    client = boto3.client("s3", endpoint_url=servers.s3_url, **_boto_kwargs())
    total = 0
    for prefix in (f"srv/entities/{team}/", f"srv/chunks/{team}/"):
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=servers.bucket, Prefix=prefix
        )
        total += sum(item["Size"] for page in pages for item in page.get("Contents", []))
    return total


def _get_seconds(servers: Servers, team: str, digest: str, size: int) -> float:
    """One GET of the download URL the server hands out for the blob, streamed to nowhere."""
    headers = {"Authorization": f"Bearer {servers.admin_key}"}
    body = {"blobs": [{"digest": digest, "algorithm": "md5", "size": size}]}
    with httpx.Client(timeout=600) as client:
        answer = client.post(
            f"{servers.url}/api/v1/entities/{team}/blobs/download-urls", json=body, headers=headers
        )
        answer.raise_for_status()
        signed = answer.json()["urls"][0]
        began = time.perf_counter()
        got = 0
        with client.stream("GET", signed["url"], headers=signed["headers"]) as response:
            response.raise_for_status()
            for piece in response.iter_bytes(8 * MIB):
                got += len(piece)
        seconds = time.perf_counter() - began
    if got != size:
        raise RuntimeError(f"the download sent {got} bytes, not {size}")
    return seconds


def _md5(path: Path) -> str:
    hasher = hashlib.md5()
    with open(path, "rb") as src:
        while block := src.read(8 * MIB):
            hasher.update(block)
    return base64.b64encode(hasher.digest()).decode()


def _one_store(servers: Servers, v0: Path, v1: Path, work: Path) -> dict[str, float]:
    size = v0.stat().st_size
    team = servers.new_team()
    first = servers.client_env(team, work / "a")
    second = servers.client_env(team, work / "b")
    before = _store_bytes(servers, team)
    log0 = _run(LOG, first, str(v0), "weights")
    after0 = _store_bytes(servers, team)
    log1 = _run(LOG, first, str(v1), "weights")
    added = _store_bytes(servers, team) - after0
    got0 = _run(GET, second, f"{team}/bench/weights:v0", str(work / "b" / "d0"))
    got1 = _run(GET, second, f"{team}/bench/weights:v1", str(work / "b" / "d1"))
    streamed = _get_seconds(servers, team, _md5(v1), size)
    other = servers.new_team()  # v0 logged whole there (as the official client sends it)
    whole_env = {**servers.client_env(other, work / "c"), "CAIRN_CHUNK_THRESHOLD": "0"}
    _run(LOG, whole_env, str(v0), "whole")
    whole = _get_seconds(servers, other, _md5(v0), size)
    return {
        "v0 log seconds": log0["seconds"],
        "v0 bytes stored": after0 - before,
        "v1 log seconds": log1["seconds"],
        "v1 bytes uploaded %": 100 * log1["sent"] / size,
        "v1 bytes added to the store %": 100 * added / size,
        "second client: v0 download seconds": got0["seconds"],
        "second client: v1 download seconds": got1["seconds"],
        "second client: v0 bytes fetched %": 100 * got0["fetched"] / size,
        "second client: v1 bytes fetched %": 100 * got1["fetched"] / size,  # its own process
        "official read path: streamed reassembly MB/s": size / streamed / 1e6,
        "official read path: whole object MB/s": size / whole / 1e6,
    }


def main(cache: Path) -> int:
    """Run the rows once on each store; print them and write them to ``cache``."""
    v0, v1 = _files(cache / "data")
    results: dict[str, dict[str, float]] = {}
    for kind in ("directory", "s3"):
        work = cache / "work" / f"chunks-server-{kind}"
        servers = Servers(work, directory=kind == "directory")
        with servers.running():
            results[kind] = _one_store(servers, v0, v1, work / "clients")
        print(f"{kind}: {json.dumps(results[kind], indent=1)}", flush=True)
    lines = ["| row | directory | S3 (moto) |", "| --- | --- | --- |"]
    for row in results["directory"]:
        cells = [f"{results[kind][row]:.2f}" for kind in ("directory", "s3")]
        lines.append(f"| {row} | {' | '.join(cells)} |")
    print("\n".join(lines))
    (cache / "results-chunks-server.json").write_text(json.dumps(results, indent=1))
    os.sync()
    return 0
