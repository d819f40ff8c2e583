"""``cairn sync`` and ``cairn mirror`` timed (issue 22, docs/sync.md); not a test.

``python -m bench.sync_copy [--versions 100] [--mb 5]`` logs that many versions offline
into a fresh embedded store (each: ten 100 kB files and one file of the rest, random
bytes, so nothing deduplicates), starts moto's S3 and ``cairn server`` (SQLite, blobs in
the bucket) as ``bench/server.py`` does, and times, each as the ``cairn`` command in a
subprocess: the first sync, a repeated sync (nothing to send), and a mirror of the
server's project into another fresh embedded store. Prints one line per step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.server import Servers

PROJECT = "offline"


def _log_offline(home: Path, versions: int, megabytes: int) -> None:
    script = f"""
import os, pathlib, cairn
root = pathlib.Path({str(home.parent / "src")!r})
with cairn.init(project={PROJECT!r}, id="bulk") as run:
    for i in range({versions}):
        folder = root / f"v{{i}}"
        folder.mkdir(parents=True)
        for j in range(10):
            (folder / f"f{{j}}.bin").write_bytes(os.urandom(100_000))
        (folder / "rest.bin").write_bytes(os.urandom({megabytes} * 1_000_000 - 1_000_000))
        art = cairn.Artifact("many", "dataset")
        art.add_dir(str(folder))
        run.log_artifact(art)
"""
    env = _embedded_env(home)
    subprocess.run(["python3", "-c", script], env=env, check=True)


def _embedded_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env.update(
        CAIRN_DIR=str(home),
        CAIRN_ENTITY="me",
        CAIRN_SILENT="true",
        CAIRN_CACHE_DIR=str(home.parent / "cache"),
        XDG_CONFIG_HOME=str(home.parent / "config"),
    )
    return env


def _timed(label: str, args: list[str], env: dict[str, str]) -> None:
    started = time.monotonic()
    done = subprocess.run(["cairn", *args, "--json"], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{label} failed: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    print(
        f"{label:8} {seconds:6.1f} s  versions {summary['versions']:4}  "
        f"unchanged {summary['unchanged']:4}  sent {summary['bytes_sent'] / 1e6:7.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--mb", type=int, default=5, help="megabytes per version (at least 2)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cairn-bench-sync-"))
    home = work / "offline" / "cairn"
    _log_offline(home, options.versions, max(2, options.mb))
    with Servers(work / "server").running() as servers:
        team = servers.new_team()
        env = {
            **_embedded_env(home),
            "CAIRN_BASE_URL": servers.url,
            "CAIRN_API_KEY": servers.admin_key,
        }
        sync = ["sync", PROJECT, "--entity-map", f"me={team}"]
        _timed("sync", sync, env)
        _timed("repeat", sync, env)
        mirror_env = {**env, "CAIRN_DIR": str(work / "mirror" / "cairn")}
        _timed("mirror", ["mirror", f"{team}/{PROJECT}", "--entity-map", f"{team}=me"], mirror_env)


if __name__ == "__main__":
    main()
