"""Run the benchmark: alternate Cairn and its peers on the same data, print medians.

``python -m bench [--quick] [--runs N] [--huge] [--cache DIR]``. Data sets and peer
venvs live under the cache directory (default ``~/.cache/cairn-bench``, or
``$CAIRN_BENCH_CACHE``). For each row every tool runs once per round, rounds alternate
tools (the disk here is noisy, so only alternating runs are compared), and the table
shows the median, the ratio Cairn/peer and the peak RSS of each tool. Everything a job
writes goes to a fresh directory removed afterwards; ``sync`` runs before each timed job
so one job's dirty pages are not flushed during the next one.

``--quick`` (under 3 minutes once data and venvs exist): small and medium data, wandb as
the only peer, one round per peer (wandb's ``add_dir`` without its untimed offline log)
and three for Cairn, except the download row (one alternating pair) and no untimed
page-cache warm-up before the re-version rows (v0 fills the stat cache). The server rows
(``--only server``: moto S3 + ``cairn server`` against raw boto3, and a 100,000-file
version's pages; see ``bench/server.py``) run in the full mode only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench import chunks, chunks_server, datasets, jobs, peers, server

Prepare = Callable[[Path], list[str]]  # given a fresh work dir: argv of the job


@dataclasses.dataclass
class Tool:
    name: str
    prepare: Prepare
    env: Callable[[Path], dict[str, str]]
    parse: bool = True  # the child prints {"seconds": ...}; else wall time from outside
    rounds: int | None = None  # fewer rounds than the row (slow peers in --quick)
    call: Callable[[], float] | None = None  # timed in this process instead (server pages)


@dataclasses.dataclass
class Row:
    title: str
    tools: list[Tool]
    samples: dict[str, list[tuple[float, float]]] = dataclasses.field(default_factory=dict)


def run_child(argv: list[str], env: dict[str, str], cwd: Path, parse: bool) -> tuple[float, float]:
    """Run one job; return (seconds, peak RSS in MB) or raise with its stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        if child.returncode != 0:
            message = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{argv[:3]} failed ({child.returncode}):\n{message}")
    seconds = wall
    if parse:
        seconds = json.loads(stdout.strip().splitlines()[-1])["seconds"]
    return seconds, usage.ru_maxrss / 1024


class Bench:
    def __init__(self, cache: Path, quick: bool, runs: int, huge: bool) -> None:
        self.cache = cache
        self.quick = quick
        self.runs = runs
        self.data = cache / "data"
        self.work = cache / "work"
        self.data.mkdir(parents=True, exist_ok=True)
        self.sets = ["small", "medium"] if quick else ["small", "medium", "large"]
        if huge:
            self.sets.append("huge")
        self.peers = ["wandb"] if quick else list(peers.PEERS)
        self.roots = {name: datasets.ensure(self.data, name) for name in self.sets}
        self.server_sets = [] if quick else ["small", "large", "page"]
        self.stack = contextlib.ExitStack()
        self._servers: server.Servers | None = None
        self._directory_server: server.Servers | None = None

    # environments

    def cairn_env(self, cairn_dir: Path, work: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CAIRN_DIR=str(cairn_dir),
            CAIRN_CACHE_DIR=str(work / "cache"),
            CAIRN_ARTIFACT_DIR=str(work / "artifacts"),
            CAIRN_ENTITY="bench",
            CAIRN_SILENT="true",
        )
        return env

    def peer_python(self, peer: str) -> str:
        return str(peers.python_of(self.cache, peer))

    def dvc_repo(self, name: str) -> Path:
        """A DVC repo (no SCM) holding its own copy of data set ``name``."""
        repo = self.cache / "dvc" / name
        if not (repo / ".dvc").is_dir():
            repo.mkdir(parents=True, exist_ok=True)
            python = self.peer_python("dvc")
            env = peers.peer_env(self.work / "dvc-init")
            subprocess.run(
                [python, "-m", "dvc", "init", "--no-scm", "-q"], cwd=repo, env=env, check=True
            )
            subprocess.run(
                ["cp", "-r", "--reflink=auto", str(self.roots[name]), str(repo / name)], check=True
            )
        return repo

    # rows

    def add_row(self, name: str) -> Row:
        root = str(self.roots[name])
        tools = [
            Tool(
                "cairn",
                lambda w: [sys.executable, "-c", jobs.CAIRN_ADD, root, name],
                lambda w: self.cairn_env(w / "cairn", w),
            )
        ]
        peer_rounds = 1 if self.quick else None
        # --quick times wandb's add_dir alone without its untimed offline log + finish
        wandb_job = jobs.WANDB_ADD_ONLY if self.quick else jobs.WANDB_ADD
        if "wandb" in self.peers:
            tools.append(
                Tool(
                    "wandb",
                    lambda w: [self.peer_python("wandb"), "-c", wandb_job, root, name],
                    peers.peer_env,
                    rounds=peer_rounds,
                )
            )
        if "dvc" in self.peers:
            repo = self.dvc_repo(name)

            def dvc_fresh(w: Path) -> list[str]:
                shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
                shutil.rmtree(repo / ".dvc" / "tmp", ignore_errors=True)
                (repo / f"{name}.dvc").unlink(missing_ok=True)
                return [self.peer_python("dvc"), "-c", jobs.DVC_ADD, str(repo), str(repo / name)]

            tools.append(Tool("dvc", dvc_fresh, peers.peer_env, rounds=peer_rounds))
        if "mlflow" in self.peers:
            tools.append(
                Tool(
                    "mlflow",
                    lambda w: [self.peer_python("mlflow"), "-c", jobs.MLFLOW_ADD, root],
                    peers.peer_env,
                    rounds=peer_rounds,
                )
            )
        if name == "large":
            tools.append(
                Tool(
                    "md5sum",
                    lambda w: ["md5sum", str(self.roots[name] / "file-0000000.bin")],
                    peers.peer_env,
                    parse=False,
                )
            )
        if name in ("small", "huge"):
            script = f"cd {root} && find . -type f -print0 | xargs -0 md5sum > /dev/null"
            tools.append(
                Tool("md5sum", lambda w: ["sh", "-c", script], peers.peer_env, parse=False)
            )
        if name in ("medium", "large"):
            tools.append(self.durable_copy(name))
        return Row(f"{name}: add + log (fresh store)", tools)

    def durable_copy(self, name: str) -> Tool:
        """The physical floor of a durable add: the same bytes read and written once to a
        new file in the job's directory, then fsynced (``dd conv=fsync``)."""
        root = self.roots[name]

        def argv(w: Path) -> list[str]:
            copy = f"dd of={w / 'copy'} bs=8M iflag=fullblock conv=fsync status=none"
            if name == "large":
                return ["sh", "-c", f"dd if={root / 'file-0000000.bin'} {copy[3:]}"]
            return ["sh", "-c", f"cd {root} && find . -type f -print0 | xargs -0 cat | {copy}"]

        return Tool("dd fsync", argv, peers.peer_env, parse=False)

    def reversion_rows(self, name: str) -> list[Row]:
        """One file changed, then nothing changed, in one persistent store per data set."""
        store = self.work / f"store-{name}"
        shutil.rmtree(store, ignore_errors=True)
        keep = self.work / f"keep-{name}"
        keep.mkdir(parents=True, exist_ok=True)
        root = self.roots[name]
        argv = [sys.executable, "-c", jobs.CAIRN_ADD, str(root), name]
        env = self.cairn_env(store, keep)
        run_child(argv, env, keep, parse=True)  # v0, untimed
        if not self.quick:  # v0 already recorded every file in the stat cache
            run_child(argv, env, keep, parse=True)  # warm the page cache, untimed
        edited = datasets.file_path(root, name, 0)
        counter = iter(range(1, 1_000_000))

        def changed(w: Path) -> list[str]:
            edited.write_bytes(datasets.content(name, 0, next(counter)))
            return argv

        def unchanged(w: Path) -> list[str]:
            return argv

        # The floor of a re-version: listing the tree's sizes and times (no file read).
        listing = Tool(
            "find -printf",
            lambda w: ["sh", "-c", f"find {root} -printf '%s %T@\\n' > /dev/null"],
            peers.peer_env,
            parse=False,
        )
        return [
            Row(f"{name}: one file changed", [Tool("cairn", changed, lambda w: env), listing]),
            Row(f"{name}: nothing changed", [Tool("cairn", unchanged, lambda w: env), listing]),
        ]

    def download_row(self, name: str) -> Row:
        store = self.work / f"store-{name}"
        env_of = lambda w: self.cairn_env(store, w)  # noqa: E731
        root = str(self.roots[name])
        rounds = 1 if self.quick else None  # the slowest row: one alternating pair in --quick
        return Row(
            f"{name}: download into an empty folder",
            [
                Tool(
                    "cairn",
                    lambda w: [sys.executable, "-c", jobs.CAIRN_DOWNLOAD, name, str(w / "out")],
                    env_of,
                    rounds=rounds,
                ),
                Tool(
                    "cp -r",
                    lambda w: ["cp", "-r", root, str(w / "out")],
                    peers.peer_env,
                    parse=False,
                    rounds=rounds,
                ),
            ],
        )

    def import_row(self) -> Row:
        tools = [
            Tool(
                "cairn",
                lambda w: [sys.executable, "-c", jobs.IMPORTS["cairn"]],
                lambda w: dict(os.environ),
                parse=False,
            )
        ]
        for peer in self.peers:
            tools.append(
                Tool(
                    peer,
                    lambda w, p=peer: [self.peer_python(p), "-c", jobs.IMPORTS[p]],
                    peers.peer_env,
                    parse=False,
                )
            )
        tools.append(
            Tool(
                "python",
                lambda w: [sys.executable, "-c", "pass"],
                lambda w: dict(os.environ),
                parse=False,
            )
        )
        return Row("python -c 'import X'", tools)

    # server rows (bench/server.py)

    def servers(self) -> server.Servers:
        if self._servers is None:
            servers = server.Servers(self.work / "server")
            self._servers = self.stack.enter_context(servers.running())
        return self._servers

    def directory_server(self) -> server.Servers:
        if self._directory_server is None:
            servers = server.Servers(self.work / "server-dir", directory=True)
            self._directory_server = self.stack.enter_context(servers.running())
        return self._directory_server

    def server_directory_upload_row(self) -> Row:
        """Logging small (new content: a fresh team each round) through ``cairn server``
        on a directory store, against the embedded add + log of the same files."""
        servers = self.directory_server()
        root = str(self.roots["small"])
        argv = lambda w: [sys.executable, "-c", jobs.CAIRN_ADD, root, "small"]  # noqa: E731
        return Row(
            "server (directory store): log small",
            [
                Tool("cairn", argv, lambda w: servers.client_env(servers.new_team(), w)),
                Tool("embedded", argv, lambda w: self.cairn_env(w / "cairn", w)),
            ],
        )

    def server_upload_row(self) -> Row:
        servers = self.servers()
        root = str(self.roots["small"])

        def boto(w: Path) -> list[str]:
            prefix = f"raw-{w.name}/"
            return [
                sys.executable,
                "-c",
                server.BOTO_PUTS,
                servers.s3_url,
                servers.bucket,
                prefix,
                root,
            ]

        return Row(
            "server: upload small (add + log)",
            [
                Tool(
                    "cairn",
                    lambda w: [sys.executable, "-c", jobs.CAIRN_ADD, root, "small"],
                    lambda w: servers.client_env(servers.new_team(), w),
                    rounds=1,
                ),
                Tool("boto3 puts", boto, lambda w: servers.boto_env(), rounds=1),
            ],
        )

    def server_download_row(self) -> Row:
        servers, root = self.servers(), self.roots["large"]
        team = servers.new_team()
        setup = self.work / "server-setup"
        setup.mkdir(parents=True, exist_ok=True)
        servers.log(team, root, "large", setup)
        servers.put_raw(root / "file-0000000.bin", "raw/large.bin")
        script = jobs.CAIRN_DOWNLOAD.replace('f"bench/{name}', f'f"{team}/bench/{{name}}')
        return Row(
            "server: download large",
            [
                Tool(
                    "cairn",
                    lambda w: [sys.executable, "-c", script, "large", str(w / "out")],
                    lambda w: servers.client_env(team, w),
                ),
                Tool(
                    "boto3 get",
                    lambda w: [
                        sys.executable,
                        "-c",
                        server.BOTO_GET,
                        servers.s3_url,
                        servers.bucket,
                        "raw/large.bin",
                        str(w / "large.bin"),
                    ],
                    lambda w: servers.boto_env(),
                ),
            ],
        )

    def server_small_download_row(self) -> Row:
        servers, root = self.servers(), self.roots["small"]
        team = servers.new_team()
        setup = self.work / "server-setup"
        setup.mkdir(parents=True, exist_ok=True)
        servers.log(team, root, "small", setup)
        servers.put_raw_tree(root, "raw-small/")
        script = jobs.CAIRN_DOWNLOAD.replace('f"bench/{name}', f'f"{team}/bench/{{name}}')
        gets = [sys.executable, "-c", server.BOTO_GETS, servers.s3_url, servers.bucket]
        return Row(
            "server: download small (new folder)",
            [
                Tool(
                    "cairn",
                    lambda w: [sys.executable, "-c", script, "small", str(w / "out")],
                    lambda w: servers.client_env(team, w),
                    rounds=1,
                ),
                Tool(
                    "boto3 gets",
                    lambda w: [*gets, "raw-small/", str(w / "out")],
                    lambda w: servers.boto_env(),
                    rounds=1,
                ),
            ],
        )

    def server_page_rows(self) -> list[Row]:
        servers = self.servers()
        team = servers.new_team()
        setup = self.work / "server-setup"
        setup.mkdir(parents=True, exist_ok=True)
        servers.log(team, server.page_set(self.data), "page", setup)
        headers = {"Authorization": f"Bearer {servers.admin_key}"}
        api = self.stack.enter_context(
            httpx.Client(base_url=f"{servers.url}/api/v1", headers=headers, timeout=120)
        )
        info = api.get(f"/entities/{team}/projects/bench/collections/page/versions/v0")
        info.raise_for_status()
        version_id = info.json()["id"]
        ui = servers.ui_client()
        self.stack.callback(ui.close)
        base = f"/{team}/bench/artifacts/dataset/page/v0"

        def timed(client: httpx.Client, url: str) -> Callable[[], float]:
            def get() -> float:
                start = time.perf_counter()
                response = client.get(url)
                seconds = time.perf_counter() - start
                response.raise_for_status()
                return seconds

            return get

        pages = [
            ("REST manifest (the file listing)", api, f"/versions/{version_id}/manifest"),
            ("UI version page", ui, base),
            ("UI files page, top folder", ui, f"{base}/files"),
            ("UI files page, folder of 1,000", ui, f"{base}/files?dir=d050"),
        ]
        return [
            Row(
                f"server: 100,000-file version, {title}",
                [Tool("cairn", lambda w: [], lambda w: {}, call=timed(client, url))],
            )
            for title, client, url in pages
        ]

    def measure(self, row: Row) -> None:
        rounds = self.runs
        for index in range(rounds):
            for tool in row.tools:
                if tool.rounds is not None and index >= tool.rounds:
                    continue
                work = Path(tempfile.mkdtemp(prefix="job-", dir=self.work))
                try:
                    argv = tool.prepare(work)
                    env = tool.env(work)
                    os.sync()
                    if tool.call is not None:
                        sample = (tool.call(), 0.0)
                    else:
                        sample = run_child(argv, env, work, tool.parse)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                row.samples.setdefault(tool.name, []).append(sample)
                print(
                    f"  {row.title:<40} {tool.name:<8} {sample[0]:8.3f} s {sample[1]:8.0f} MB",
                    flush=True,
                )

    def rows(self, only: str | None) -> Iterator[Row]:
        """Every row in order, built lazily; ``only`` keeps the jobs whose key contains it
        (keys: ``import``, ``<set> add``, ``<set> reversion``, ``<set> download``)."""
        plan: list[tuple[str, Callable[[], list[Row]]]] = [("import", lambda: [self.import_row()])]
        for name in self.sets:
            plan.append((f"{name} add", lambda n=name: [self.add_row(n)]))
            if name in ("small", "medium", "huge"):
                plan.append((f"{name} reversion", lambda n=name: self.reversion_rows(n)))
            if name == "small":
                plan.append((f"{name} download", lambda n=name: [self.download_row(n)]))
        if "small" in self.server_sets:
            plan.append(("server upload", lambda: [self.server_upload_row()]))
            plan.append(("server dir upload", lambda: [self.server_directory_upload_row()]))
        if "small" in self.server_sets:
            plan.append(("server download small", lambda: [self.server_small_download_row()]))
        if "large" in self.server_sets:
            plan.append(("server download large", lambda: [self.server_download_row()]))
        if "page" in self.server_sets:
            plan.append(("server page", self.server_page_rows))
        for key, build in plan:
            if only is None or only in key:
                yield from build()


def table(rows: list[Row]) -> str:
    lines = [
        "| job | tool | median s | runs | cairn / tool | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        cairn = statistics.median(s for s, _ in row.samples.get("cairn", [(float("nan"), 0)]))
        for name, samples in row.samples.items():
            median = statistics.median(s for s, _ in samples)
            rss = max(r for _, r in samples)
            ratio = "" if name == "cairn" else f"{cairn / median:.3f}"
            lines.append(
                f"| {row.title} | {name} | {median:.3f} | {len(samples)} | {ratio} | {rss:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a subset in under 3 minutes")
    parser.add_argument("--runs", type=int, default=None, help="rounds per row (default 3)")
    parser.add_argument("--huge", action="store_true", help="add the 1,000,000 x 100 B set")
    parser.add_argument(
        "--chunks", action="store_true", help="only the chunk rows of issue 24 (bench/chunks.py)"
    )
    parser.add_argument(
        "--only", default=None, help="only jobs whose key contains this: import, small add, ..."
    )
    default_cache = os.environ.get("CAIRN_BENCH_CACHE") or Path.home() / ".cache" / "cairn-bench"
    parser.add_argument("--cache", type=Path, default=Path(default_cache))
    parser.add_argument(
        "--chunks-server",
        action="store_true",
        help="only the rows of large files through cairn server as chunks (issue 24)",
    )
    args = parser.parse_args(argv)
    if args.chunks:
        return chunks.main(args.cache, args.runs or 3)
    if args.chunks_server:
        return chunks_server.main(args.cache)
    bench = Bench(args.cache, args.quick, args.runs or 3, args.huge)
    bench.work.mkdir(parents=True, exist_ok=True)
    versions = {peer: peers.version_of(args.cache, peer) for peer in bench.peers}
    print("peers:", ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    started = time.perf_counter()
    rows = []
    try:
        with bench.stack:  # stops the servers of the server rows
            for row in bench.rows(args.only):
                bench.measure(row)
                rows.append(row)
    finally:
        for name in set(bench.sets) - {"large"}:  # undo the "one file changed" edits
            original = datasets.content(name, 0)
            path = datasets.file_path(bench.roots[name], name, 0)
            if path.read_bytes() != original:
                path.write_bytes(original)
    print()
    print(table(rows))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    results = {row.title: row.samples for row in rows}
    (args.cache / "results.json").write_text(
        json.dumps({"peers": versions, "rows": results}, indent=1)
    )
    return 0
