"""Timing of ``cairn import wandb`` (issue 22): not a test, nothing asserted.

``python bench/import_wandb.py [--versions 10] [--files 200] [--size 4096]`` starts a
``cairn server`` (SQLite + directory store, as tests/serverproc.py does), logs a project
with the official client (``.test-tools/wandb-<newest>``: each version adds ``--files``
files of ``--size`` bytes to the last one's), then times, into a fresh embedded store:
the first import, a repeated one (writes nothing) and the listing alone (``--dry-run``).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from compat.test_flows import plain_user  # noqa: E402
from compat.wandb_tools import NEWEST, TOOLS, wandb_env  # noqa: E402
from serverproc import running_server  # noqa: E402

SEED = """
import os, sys, wandb
work, versions, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(work, exist_ok=True)
run = wandb.init(project="bench", job_type="seed")
for v in range(versions):
    for f in range(files):
        with open(os.path.join(work, f"v{v}-f{f}.bin"), "wb") as out:
            out.write(os.urandom(size))
    art = wandb.Artifact("data", type="dataset")
    art.add_dir(work)
    run.log_artifact(art, aliases=[f"a{v}"])
    art.wait()
run.finish()
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    python = str(TOOLS / f"wandb-{NEWEST}" / "bin" / "python")
    root = Path(tempfile.mkdtemp(prefix="cairn-bench-import-"))
    try:
        with running_server(root / "srv", f"sqlite:///{root}/srv.db") as server:
            key = plain_user(server, "bencher")
            env = wandb_env(server, root / "home", key)
            seed = root / "seed.py"
            seed.write_text(SEED)
            start = time.monotonic()
            counts = [str(args.versions), str(args.files), str(args.size)]
            subprocess.run([python, str(seed), str(root / "w"), *counts], env=env, check=True)
            seeded = time.monotonic() - start
            cenv = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
            cenv.update(CAIRN_DIR=str(root / "dest"), CAIRN_IMPORT_WANDB_API_KEY=key)
            cenv["PYTHONPATH"] = str(ROOT / "src")
            command = [sys.executable, "-m", "cairn.cli", "import", "wandb", "--base-url"]
            command += [server.url, "--entity", "bencher", "--project", "bench"]
            command += ["--wandb-python", python, "--json"]
            dry, _ = _timed([*command, "--dry-run"], cenv)
            first, summary = _timed(command, cenv)
            again, repeat = _timed(command, cenv)
        print(
            json.dumps(
                {
                    "versions": args.versions,
                    "files_per_version": args.files,
                    "file_size": args.size,
                    "seed_with_wandb_s": round(seeded, 2),
                    "dry_run_s": round(dry, 2),
                    "first_import_s": round(first, 2),
                    "repeat_import_s": round(again, 2),
                    "blobs_sent": summary["blobs_sent"],
                    "bytes_sent": summary["bytes_sent"],
                    "repeat_versions": repeat["versions"],
                }
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
