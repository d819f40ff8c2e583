"""Chunk rows (issue 24): ``python -m bench --chunks [--runs N]``.

The embedded store's targets for large files stored as content-defined chunks, on the
1 GiB file of the ``large`` set and two variants of it, generated once under
``<cache>/data/chunks`` (each ``model.bin`` in its own folder, so every version has the
same entry path):

- ``v0``: the large file itself;
- ``edits``: ten 1 MiB edits at scattered, seeded offsets;
- ``append``: the large file plus 1 % more bytes.

Rows, every tool once per round and rounds alternating tools, each job in a fresh copy of
its store:

- first version: Cairn as it is now (chunked from 8 MiB) against the same command with
  ``CAIRN_CHUNK_THRESHOLD=off`` (the file stored whole, as before this change) and
  ``md5sum`` of the file;
- re-version after the edits, and after the append: Cairn logging the variant as the next
  version into a copy of a store holding v0 (chunked), against ``md5sum`` of the variant;
  "new bytes" is what the store grew by, over the file's size;
- download into an empty folder: a chunked v0 against a v0 stored whole.

Every job that reads a variant first reads it once, untimed, so that each starts with
the file in the page cache. Each Cairn job prints its time (``add_dir`` +
``log_artifact``, or the download) and the bytes its store grew by; peak RSS is the
child's ``ru_maxrss``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import datasets

MiB = 1024 * 1024
EDITS = 10
EDIT_SIZE = MiB
APPEND_FRACTION = 0.01

LOG = """
import json, os, sys, time
import cairn
data, name = sys.argv[1], sys.argv[2]
blobs = os.path.join(os.environ["CAIRN_DIR"], "blobs")
def stored():
    return sum(
        os.path.getsize(os.path.join(root, f)) for root, _d, fs in os.walk(blobs) for f in fs
    )
before = stored()
run = cairn.init(project="bench", job_type="bench")
t1 = time.perf_counter()
artifact = cairn.Artifact(name, "model")
artifact.add_dir(data)
run.log_artifact(artifact)
t2 = time.perf_counter()
run.finish()
print(json.dumps({"seconds": t2 - t1, "new_bytes": stored() - before}))
"""

DOWNLOAD = """
import json, sys, time
import cairn
name, dest = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
cairn.Api().artifact(f"bench/{name}:latest").download(root=dest)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def variants(data_dir: Path) -> dict[str, Path]:
    """The folders of v0, edits and append (generated once); each holds ``model.bin``."""
    large = datasets.file_path(datasets.ensure(data_dir, "large"), "large", 0)
    base = data_dir / "chunks"
    folders = {name: base / name for name in ("v0", "edits", "append")}
    stamp = base / "chunks.done"
    if stamp.exists():
        return folders
    shutil.rmtree(base, ignore_errors=True)
    for folder in folders.values():
        folder.mkdir(parents=True)
    os.link(large, folders["v0"] / "model.bin")
    size = large.stat().st_size
    rng = random.Random("chunks/edits")
    shutil.copyfile(large, folders["edits"] / "model.bin")
    with open(folders["edits"] / "model.bin", "r+b") as handle:
        for offset in sorted(rng.randrange(size - EDIT_SIZE) for _ in range(EDITS)):
            handle.seek(offset)
            handle.write(rng.randbytes(EDIT_SIZE))
    shutil.copyfile(large, folders["append"] / "model.bin")
    with open(folders["append"] / "model.bin", "ab") as handle:
        handle.write(random.Random("chunks/append").randbytes(int(size * APPEND_FRACTION)))
    stamp.touch()
    return folders


def warm(path: Path) -> None:
    """Read ``path`` once, untimed, so every tool starts with it in the page cache (the
    untimed copy of a 1 GiB template store may have pushed it out)."""
    with open(path, "rb", buffering=0) as handle:
        while handle.read(8 * MiB):
            pass


def run_job(argv: list[str], env: dict[str, str], cwd: Path, parse: bool) -> dict[str, float]:
    """Run one child; its JSON line (or its wall time) plus ``rss``, its peak RSS in MB
    (``os.wait4``, as ``bench/run.py`` measures)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{argv[:3]} failed:\n{err.read().decode(errors='replace')[-3000:]}")
        stdout = out.read().decode(errors="replace")
    result: dict[str, float] = json.loads(stdout.strip().splitlines()[-1]) if parse else {}
    result.setdefault("seconds", wall)
    result["rss"] = usage.ru_maxrss / 1024
    return result


class ChunkBench:
    """The chunk rows over one cache directory (``bench/run.py`` passes its own)."""

    def __init__(self, cache: Path, runs: int) -> None:
        self.runs = runs
        self.work = cache / "work" / "chunks"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.folders = variants(cache / "data")
        self.file_size = (self.folders["v0"] / "model.bin").stat().st_size
        self.templates = {
            "chunked": self._template("chunked", None),
            "whole": self._template("whole", "off"),
        }

    def env(self, cairn_dir: Path, work: Path, threshold: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CAIRN_DIR=str(cairn_dir),
            CAIRN_CACHE_DIR=str(work / "cache"),
            CAIRN_ARTIFACT_DIR=str(work / "artifacts"),
            CAIRN_ENTITY="bench",
            CAIRN_SILENT="true",
        )
        env.pop("CAIRN_CHUNK_THRESHOLD", None)
        if threshold is not None:
            env["CAIRN_CHUNK_THRESHOLD"] = threshold
        return env

    def _template(self, name: str, threshold: str | None) -> Path:
        """A store holding v0, logged once (untimed), copied for each job."""
        store = self.work / f"template-{name}"
        argv = [sys.executable, "-c", LOG, str(self.folders["v0"]), "model"]
        run_job(argv, self.env(store, self.work, threshold), self.work, parse=True)
        return store

    def log_tool(self, folder: str, template: str | None, threshold: str | None) -> Tool:
        """Log ``folder`` as the next version of ``model`` in a fresh copy of a template
        store (or a fresh store when ``template`` is None)."""

        def job(work: Path) -> tuple[list[str], dict[str, str]]:
            store = work / "store"
            if template is not None:
                subprocess.run(
                    ["cp", "-a", "--reflink=auto", str(self.templates[template]), str(store)],
                    check=True,
                )
            warm(self.folders[folder] / "model.bin")  # as md5sum finds it, after its copy
            argv = [sys.executable, "-c", LOG, str(self.folders[folder]), "model"]
            return argv, self.env(store, work, threshold)

        return Tool(job, parse=True)

    def download_tool(self, template: str) -> Tool:
        def job(work: Path) -> tuple[list[str], dict[str, str]]:
            store = self.templates[template]
            argv = [sys.executable, "-c", DOWNLOAD, "model", str(work / "out")]
            return argv, self.env(store, work, None)

        return Tool(job, parse=True)

    def md5sum(self, folder: str) -> Tool:
        path = self.folders[folder] / "model.bin"

        def job(work: Path) -> tuple[list[str], dict[str, str]]:
            warm(path)
            return ["md5sum", str(path)], dict(os.environ)

        return Tool(job, parse=False)

    def rows(self) -> list[Row]:
        return [
            Row(
                "first version of 1 GiB (add + log)",
                {
                    "cairn chunked": self.log_tool("v0", None, None),
                    "cairn whole (off)": self.log_tool("v0", None, "off"),
                    "md5sum": self.md5sum("v0"),
                },
            ),
            Row(
                "re-version after 10 x 1 MiB edits",
                {
                    "cairn chunked": self.log_tool("edits", "chunked", None),
                    "md5sum": self.md5sum("edits"),
                },
            ),
            Row(
                "re-version after a 1 % append",
                {
                    "cairn chunked": self.log_tool("append", "chunked", None),
                    "md5sum": self.md5sum("append"),
                },
            ),
            Row(
                "download 1 GiB into an empty folder",
                {
                    "cairn chunked": self.download_tool("chunked"),
                    "cairn whole": self.download_tool("whole"),
                },
            ),
        ]

    def measure(self, row: Row) -> None:
        for _round in range(self.runs):
            for name, tool in row.tools.items():
                work = Path(tempfile.mkdtemp(prefix="job-", dir=self.work))
                try:
                    argv, env = tool.prepare(work)
                    os.sync()
                    sample = run_job(argv, env, work, tool.parse)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                row.samples.setdefault(name, []).append(sample)
                new = sample.get("new_bytes")
                extra = "" if new is None else f" new {100 * new / self.file_size:6.2f} %"
                print(
                    f"  {row.title:<40} {name:<18} {sample['seconds']:8.3f} s"
                    f" {sample['rss']:6.0f} MB{extra}",
                    flush=True,
                )


@dataclasses.dataclass
class Tool:
    prepare: Callable[[Path], tuple[list[str], dict[str, str]]]
    parse: bool


@dataclasses.dataclass
class Row:
    title: str
    tools: dict[str, Tool]
    samples: dict[str, list[dict[str, float]]] = dataclasses.field(default_factory=dict)


def table(rows: list[Row], file_size: int) -> str:
    """Medians per tool; the ratio of each tool to the row's first; new bytes in %."""
    lines = [
        "| job | tool | median s | runs | first tool / this | peak RSS MB | new bytes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        first = statistics.median(s["seconds"] for s in next(iter(row.samples.values())))
        for name, samples in row.samples.items():
            median = statistics.median(s["seconds"] for s in samples)
            rss = max(s["rss"] for s in samples)
            news = [s["new_bytes"] for s in samples if "new_bytes" in s]
            new = f"{100 * statistics.median(news) / file_size:.2f} %" if news else ""
            ratio = f"{first / median:.3f}"
            cells = [row.title, name, f"{median:.3f}", str(len(samples)), ratio, f"{rss:.0f}", new]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(cache: Path, runs: int) -> int:
    """Run the chunk rows; print and save (``<cache>/results-chunks.json``) the table."""
    started = time.perf_counter()
    bench = ChunkBench(cache, runs)
    rows = bench.rows()
    for row in rows:
        bench.measure(row)
    print()
    print(table(rows, bench.file_size))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    results = {row.title: row.samples for row in rows}
    (cache / "results-chunks.json").write_text(json.dumps(results, indent=1))
    shutil.rmtree(bench.work, ignore_errors=True)
    return 0
