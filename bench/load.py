"""Load figure (issue 20 item 7): N concurrent clients against ``cairn server`` on
PostgreSQL + moto's S3 server, a realistic mix for a fixed time.

Not a test: nothing here asserts. Run from the repository root::

    python -m bench.load                   # 8, 32 and 64 clients, 60 s each
    python -m bench.load --quick           # 8 and 64 clients, 10 s each
    python -m bench.load --clients 64 --seconds 30 --processes 2 --profile prof/

Everything runs on 127.0.0.1: a throwaway PostgreSQL cluster (``tests/pgcluster.py``,
as the tests start it; or ``--db URL``), moto's S3 server (``moto_server``) in a
subprocess, and ``--processes`` app processes of one ``cairn server`` (same database,
bucket and signing key; clients are spread over them). Before the clock starts, one team
gets ``COLLECTIONS`` collections of ``SEEDED`` small versions each. Each client is a
thread with its own ``RemoteBackend`` (Cairn's own HTTP client, one connection pool per
client) that picks an operation at random, by ``MIX`` weight, until the time is up:

- ``list``: one page of a collection's versions (50);
- ``resolve``: ``name:latest`` to a version;
- ``download``: resolve, read the manifest, fetch the one small file (4 KiB, presigned
  S3 GET, digest checked);
- ``log``: a new small version (stage, ask which blobs are missing, upload, commit),
  the SDK's sequence of requests;
- ``alias``: move the client's own alias onto a random version (an edit).

Per operation it reports the count, p50 and p99 latency (of the whole operation, all its
requests) and errors; per level the throughput. ``--json`` prints the rows as JSON.
``--profile DIR`` records the first app process with py-spy during each level
(``DIR/server-<N>.txt``, collapsed stacks) when py-spy is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.server import BOTO_ENV, _boto_kwargs, _stop, _wait, free_port
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import BlobRef, CommitRequest, VersionEdit
from cairn.remote.backend import RemoteBackend
from cairn.settings import Settings

MIX = {"list": 20, "resolve": 35, "download": 20, "log": 10, "alias": 15}
COLLECTIONS = 8
SEEDED = 5
SMALL = 4096
SPY = ["--rate", "50", "--format", "raw", "--nonblocking", "--output"]


@dataclasses.dataclass
class Cluster:
    """The app processes' URLs, the admin key and the team the clients work in."""

    urls: list[str]
    admin_key: str
    team: str
    pids: list[int]


def _postgres(db: str | None) -> contextlib.AbstractContextManager[str]:
    if db:
        return contextlib.nullcontext(db)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pgcluster import postgres_cluster

    return postgres_cluster()


@contextlib.contextmanager
def running(work: Path, db: str | None, processes: int) -> Iterator[Cluster]:
    """PostgreSQL, moto and ``processes`` app processes, stopped on exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env.update(BOTO_ENV)
    moto_port = free_port()
    s3_url = f"http://127.0.0.1:{moto_port}"
    with open(work / "moto.log", "wb") as out:
        moto = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started: list[subprocess.Popen[bytes]] = []
    try:
        _wait(s3_url, moto, work / "moto.log")
        import boto3

        bucket = f"load-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=s3_url, **_boto_kwargs()).create_bucket(Bucket=bucket)
        with _postgres(db) as admin_url:
            db_url = _database(admin_url)
            home = work / "home"
            home.mkdir()
            (home / "secret").write_text(secrets.token_hex(32))
            env.update(
                CAIRN_DIR=str(home),
                XDG_CONFIG_HOME=str(home / "config"),
                AWS_ENDPOINT_URL_S3=s3_url,
            )
            cli = [sys.executable, "-m", "cairn.cli", "server"]
            made = subprocess.run(
                [*cli, "create-admin", "--db", db_url, "--name", "root"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            admin_key = json.loads(made.stdout)["api_key"]
            serve = [*cli, "--db", db_url, "--store", f"s3://{bucket}/srv", "--quiet"]
            serve += ["--secret-file", str(home / "secret")]
            urls = []
            for number in range(processes):
                port = free_port()
                log = work / f"server-{number}.log"
                with open(log, "wb") as out:
                    started.append(
                        subprocess.Popen(
                            [*serve, "--port", str(port)],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
                urls.append(f"http://127.0.0.1:{port}")
                _wait(f"{urls[-1]}/health", started[-1], log)
            team = f"load-{secrets.token_hex(4)}"
            httpx.post(
                f"{urls[0]}/api/v1/admin/teams",
                json={"name": team},
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=60,
            ).raise_for_status()
            yield Cluster(urls, admin_key, team, [p.pid for p in started])
    finally:
        for process in started:
            _stop(process)
        _stop(moto)


def _database(admin_url: str) -> str:
    """A fresh database on the PostgreSQL at ``admin_url`` (left for the cluster to drop)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"cairn_load_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(False)


class Client:
    """One simulated user: a ``RemoteBackend`` of its own and a scratch folder."""

    def __init__(self, cluster: Cluster, number: int, work: Path) -> None:
        self.number = number
        self.team = cluster.team
        self.work = work / f"client-{number}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(number)
        self.backend = RemoteBackend(
            Settings.load(
                {
                    "base_url": cluster.urls[number % len(cluster.urls)],
                    "api_key": cluster.admin_key,
                    "entity": cluster.team,
                    "cache_dir": self.work / "cache",
                    "cairn_dir": self.work / "cairn",
                    "silent": True,
                }
            )
        )
        self.logged = 0

    def collection(self) -> str:
        return f"c{self.rng.randrange(COLLECTIONS)}"

    def run(self, operation: str) -> None:
        getattr(self, f"op_{operation}")()

    def op_list(self) -> None:
        self.backend.list_versions(self.team, "p", self.collection(), None, 50)

    def op_resolve(self) -> None:
        self.backend.resolve_version(self.team, "p", self.collection(), "latest")

    def op_download(self) -> None:
        info = self.backend.resolve_version(self.team, "p", self.collection(), "latest")
        manifest = Manifest.from_json(self.backend.read_manifest(info.id))
        entry = manifest.entries["data.bin"]
        target = self.work / "down.bin"
        target.unlink(missing_ok=True)
        ref = BlobRef(entry.digest, "md5", entry.size or 0)
        self.backend.fetch_blob(self.team, ref, target)

    def op_log(self) -> None:
        self.logged += 1
        source = self.work / f"src-{self.logged}.bin"
        source.write_bytes(os.urandom(SMALL))
        log_small(self.backend, self.team, self.collection(), source)

    def op_alias(self) -> None:
        name = self.collection()
        versions = self.backend.list_versions(self.team, "p", name, None, 50).items
        target = self.rng.choice(versions)
        edit = VersionEdit(
            entity=self.team,
            project="p",
            collection=name,
            description=target.description,
            metadata=target.metadata,
            aliases_to_add=[f"client-{self.number}"],
        )
        self.backend.edit_version(target.id, edit)


def log_small(backend: RemoteBackend, team: str, collection: str, source: Path) -> None:
    """Log ``source`` as ``data.bin``, a version of ``team/p/collection``: stage, upload
    what the store lacks, commit (the SDK's requests for a one-file version)."""
    blob = backend.ingest_file(source, "md5")
    manifest = Manifest()
    manifest.add_entry(ManifestEntry(path="data.bin", digest=blob.digest, size=blob.size))
    missing = backend.missing_blobs(team, [BlobRef(blob.digest, "md5", blob.size)])
    backend.put_blobs(team, [(ref, Path(blob.local_path)) for ref in missing])
    backend.commit_version(
        CommitRequest(
            entity=team,
            project="p",
            collection=collection,
            type="dataset",
            digest=manifest.digest(),
            digest_algorithm="MD5",
            manifest_json=manifest.to_json_bytes(),
        )
    )


@dataclasses.dataclass
class Level:
    """What N clients did in ``seconds``: latencies (s) and errors per operation."""

    clients: int
    seconds: float
    latencies: dict[str, list[float]]
    errors: dict[str, list[str]]

    def rows(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for op in [*MIX, "all"]:
            values = (
                sorted(v for vs in self.latencies.values() for v in vs)
                if op == "all"
                else sorted(self.latencies[op])
            )
            errors = sum(map(len, self.errors.values())) if op == "all" else len(self.errors[op])
            out.append(
                {
                    "clients": self.clients,
                    "operation": op,
                    "count": len(values),
                    "per_second": len(values) / self.seconds,
                    "p50_ms": _quantile(values, 0.50) * 1000,
                    "p99_ms": _quantile(values, 0.99) * 1000,
                    "errors": errors,
                }
            )
        return out


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def run_level(cluster: Cluster, clients: int, seconds: float, work: Path) -> Level:
    """``clients`` threads doing the mix for ``seconds``."""
    latencies: dict[str, list[float]] = {op: [] for op in MIX}
    errors: dict[str, list[str]] = {op: [] for op in MIX}
    people = [Client(cluster, n, work) for n in range(clients)]
    ops, weights = list(MIX), list(MIX.values())
    start = threading.Barrier(clients + 1)
    stop_at = 0.0

    def work_loop(client: Client) -> None:
        start.wait()
        while time.monotonic() < stop_at:
            op = client.rng.choices(ops, weights)[0]
            began = time.perf_counter()
            try:
                client.run(op)
            except Exception as exc:  # counted and shown, the load goes on
                errors[op].append(f"{type(exc).__name__}: {exc}")
                continue
            latencies[op].append(time.perf_counter() - began)

    threads = [threading.Thread(target=work_loop, args=(c,)) for c in people]
    for thread in threads:
        thread.start()
    stop_at = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    for client in people:
        client.backend.close()
    return Level(clients, elapsed, latencies, errors)


def seed(cluster: Cluster, work: Path) -> None:
    """``COLLECTIONS`` collections of ``SEEDED`` versions each (untimed)."""
    backend = RemoteBackend(
        Settings.load(
            {
                "base_url": cluster.urls[0],
                "api_key": cluster.admin_key,
                "entity": cluster.team,
                "cache_dir": work / "seed-cache",
                "cairn_dir": work / "seed-cairn",
                "silent": True,
            }
        )
    )
    for number in range(COLLECTIONS * SEEDED):
        source = work / f"seed-{number}.bin"
        source.write_bytes(os.urandom(SMALL))
        log_small(backend, cluster.team, f"c{number % COLLECTIONS}", source)
    backend.close()


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), *SPY, str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def table(rows: list[dict[str, object]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| clients | operation | count | per s | p50 ms | p99 ms | errors |",
        "|--------:|-----------|------:|------:|-------:|-------:|-------:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['clients']} | {row['operation']} | {row['count']} "
            f"| {row['per_second']:.1f} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} "
            f"| {row['errors']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, nargs="+", default=None, help="default 8 32 64")
    parser.add_argument("--seconds", type=float, default=None, help="per level (default 60)")
    parser.add_argument("--quick", action="store_true", help="8 and 64 clients, 10 s each")
    parser.add_argument("--processes", type=int, default=1, help="app processes (default 1)")
    parser.add_argument("--db", help="a PostgreSQL admin URL (default: a throwaway cluster)")
    parser.add_argument("--profile", type=Path, help="py-spy the first app process into DIR")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    levels = args.clients or ([8, 64] if args.quick else [8, 32, 64])
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    work = Path(tempfile.mkdtemp(prefix="cairn-load-"))
    rows: list[dict[str, object]] = []
    try:
        with running(work, args.db, args.processes) as cluster:
            seed(cluster, work)
            for clients in levels:
                spy = None
                if args.profile is not None:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    out = args.profile / f"server-{clients}.txt"
                    spy = _profile(cluster.pids[0], seconds, out)
                level = run_level(cluster, clients, seconds, work)
                if spy is not None:
                    spy.wait()
                rows += level.rows()
                for op, messages in level.errors.items():
                    for message in sorted(set(messages))[:3]:
                        print(f"{clients} clients, {op}: {message}", file=sys.stderr)
                print(f"{clients} clients: done", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: the levels finished so far follow", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
