"""Two ``cairn server`` processes on one PostgreSQL + S3 (moto), driven by clients that
alternate between them (issue 20 item 5).

16 writer threads log 10 versions each into one collection, every commit through the other
process than the one before, moving a user alias (``moving``) with each commit; two alias
editors move ``pinned`` through both processes; a watcher lists the collection all the
while; another thread logs versions with a TTL of one second into a second collection,
which both processes' background sweeps (every second) expire meanwhile; ``cairn server
gc`` runs again and again beside them (a grace period of 20 s, so the blobs of expired
versions are freed while writers still commit). Afterwards the collection holds v0..v159
with no gap and no duplicate, ``latest``, ``moving`` and ``pinned`` each name exactly one
version (and never named two at once in any listing), the expired versions are gone and
every committed version downloads byte-exact.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.errors import NotFoundError
from cairn.protocol import BlobRef, CommitRequest, VersionEdit, VersionInfo
from cairn.remote.backend import RemoteBackend
from cairn.settings import Settings
from serverproc import ServerProcess, postgres_database, running_server

WRITERS = 16
VERSIONS = 10
EPHEMERAL = 10
TRACKED = ("latest", "moving", "pinned")


@dataclasses.dataclass(frozen=True)
class TwoServers:
    processes: tuple[ServerProcess, ServerProcess]
    db_url: str
    store: str
    env: dict[str, str]

    def gc(self) -> None:
        """One ``cairn server gc`` of their store, as cron would run it."""
        done = subprocess.run(
            [
                *(sys.executable, "-m", "cairn.cli", "server", "gc", "--db", self.db_url),
                *("--store", self.store, "--grace-seconds", "20", "--json"),
            ],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        json.loads(done.stdout)


@pytest.fixture
def two_servers(
    tmp_path: Path, postgres_admin_url: str, moto_endpoint: str
) -> Iterator[TwoServers]:
    """Two app processes of one server: one database, one bucket, one signing key."""
    import boto3

    s3_env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    bucket = f"cairn-two-{secrets.token_hex(4)}"
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    secret = tmp_path / "secret"
    secret.write_text(secrets.token_hex(32))
    args = ["--secret-file", str(secret), "--ttl-sweep-interval", "1", "--quiet"]
    store = f"s3://{bucket}/blobs"
    with (
        postgres_database(postgres_admin_url) as db_url,
        running_server(tmp_path / "a", db_url, store, s3_env, args=args) as first,
        running_server(
            tmp_path / "b", db_url, store, s3_env, admin_key=first.admin_key, args=args
        ) as second,
    ):
        yield TwoServers((first, second), db_url, store, s3_env)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from refservers import moto_s3

    with moto_s3() as url:
        yield url


def _backend(server: ServerProcess, team: str, cache: Path) -> RemoteBackend:
    return RemoteBackend(
        Settings.load(
            {
                "base_url": server.url,
                "api_key": server.admin_key,
                "entity": team,
                "cache_dir": cache,
                "silent": True,
            }
        )
    )


def _content(collection: str, writer: int, number: int) -> bytes:
    return f"{collection} of writer {writer}, number {number}\n".encode() * 300


def _log(
    backend: RemoteBackend,
    team: str,
    collection: str,
    source: Path,
    aliases: list[str],
    ttl: int | None = None,
) -> VersionInfo:
    """Log ``source`` as ``data.txt``, a version of ``team/p/collection``, as the SDK does:
    stage, upload what the store lacks, commit once."""
    blob = backend.ingest_file(source, "md5")
    manifest = Manifest()
    manifest.add_entry(
        ManifestEntry(path="data.txt", digest=blob.digest, size=blob.size, local_path=None)
    )
    ref = BlobRef(blob.digest, "md5", blob.size)
    missing = backend.missing_blobs(team, [ref])
    backend.put_blobs(team, [(b, Path(blob.local_path)) for b in missing])
    request = CommitRequest(
        entity=team,
        project="p",
        collection=collection,
        type="dataset",
        digest=manifest.digest(),
        digest_algorithm="MD5",
        manifest_json=manifest.to_json_bytes(),
        aliases=aliases,
        ttl_duration_seconds=ttl,
    )
    return backend.commit_version(request).version


def _listing(backend: RemoteBackend, team: str) -> list[VersionInfo]:
    """The versions of ``shared`` in one page (none before its first commit)."""
    try:
        return list(backend.list_versions(team, "p", "shared", None, 1000).items)
    except NotFoundError:
        return []


def _alias_holders(listing: list[VersionInfo]) -> dict[str, list[int]]:
    return {a: [v.version_index for v in listing if a in v.aliases] for a in TRACKED}


def _run_all(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.slow
def test_two_processes_number_versions_and_move_aliases_as_one(
    cairn_dir: Path, two_servers: TwoServers, tmp_path: Path
) -> None:
    processes = two_servers.processes
    team = processes[0].new_team("two")
    backends = [_backend(s, team, tmp_path / f"cache-{i}") for i, s in enumerate(processes)]
    sources = tmp_path / "sources"
    sources.mkdir()
    writing = threading.Event()
    writing.set()
    seen: list[str] = []  # what a listing showed that it must never show
    logged: list[VersionInfo] = []

    def writer(index: int) -> None:
        for number in range(VERSIONS):
            source = sources / f"shared-{index}-{number}.txt"
            source.write_bytes(_content("shared", index, number))
            backend = backends[(index + number) % 2]
            logged.append(_log(backend, team, "shared", source, ["moving", f"w{index}-{number}"]))

    def ephemeral() -> None:
        for number in range(EPHEMERAL):
            source = sources / f"ephemeral-{number}.txt"
            source.write_bytes(_content("ephemeral", 0, number))
            _log(backends[number % 2], team, "ephemeral", source, [], ttl=1)

    def pin(first: int) -> None:
        for turn in itertools.count():
            if not writing.is_set() and turn >= 20:
                return
            if not logged:
                time.sleep(0.05)
                continue
            target = logged[(turn * 7 + first) % len(logged)]
            edit = VersionEdit(
                entity=team,
                project="p",
                collection="shared",
                description=None,
                metadata={},
                aliases_to_add=["pinned"],
            )
            backends[(first + turn) % 2].edit_version(target.id, edit)

    def watch() -> None:
        for turn in itertools.count():
            if not writing.is_set():
                return
            listing = _listing(backends[turn % 2], team)
            indices = [v.version_index for v in listing]
            if len(set(indices)) != len(indices):
                seen.append(f"duplicate indices: {sorted(indices)}")
            for alias, holders in _alias_holders(listing).items():
                if len(holders) > 1:
                    seen.append(f"{alias} on {holders}")
            if listing and _alias_holders(listing)["latest"] != [max(indices)]:
                seen.append(f"latest on {_alias_holders(listing)['latest']}, not v{max(indices)}")
            time.sleep(0.1)

    def collect() -> None:
        while writing.is_set():
            two_servers.gc()

    background = [lambda: pin(0), lambda: pin(1), watch, collect]
    errors: list[BaseException] = []
    side = threading.Thread(target=lambda: errors.extend(_run_all(background)))
    side.start()
    errors += _run_all([*(lambda i=i: writer(i) for i in range(WRITERS)), ephemeral])
    writing.clear()
    side.join()
    assert [repr(e) for e in errors] == []
    assert seen == []

    listing = _listing(backends[0], team)
    assert sorted(v.version_index for v in listing) == list(range(WRITERS * VERSIONS))
    holders = _alias_holders(listing)
    assert holders["latest"] == [WRITERS * VERSIONS - 1]
    assert len(holders["moving"]) == 1 and len(holders["pinned"]) == 1
    by_alias = {alias: v for v in listing for alias in v.aliases}
    for index, number in itertools.product(range(WRITERS), range(VERSIONS)):
        assert f"w{index}-{number}" in by_alias  # every commit landed once

    deadline = time.monotonic() + 60  # both processes sweep every second
    while time.monotonic() < deadline:
        try:
            backends[1].resolve_version(team, "p", "ephemeral", "latest")
        except NotFoundError:
            break
        time.sleep(0.5)
    for number in range(EPHEMERAL):
        with pytest.raises(NotFoundError):
            backends[number % 2].resolve_version(team, "p", "ephemeral", f"v{number}")

    def download(version: VersionInfo) -> None:
        index, number = map(int, next(a[1:] for a in version.aliases if a[0] == "w").split("-"))
        backend = backends[version.version_index % 2]
        entry = Manifest.from_json(backend.read_manifest(version.id)).entries["data.txt"]
        target = tmp_path / "down" / f"v{version.version_index}"
        backend.fetch_blob(team, BlobRef(entry.digest, "md5", entry.size or 0), target)
        assert target.read_bytes() == _content("shared", index, number)

    (tmp_path / "down").mkdir()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(download, listing))
    for backend in backends:
        backend.close()
