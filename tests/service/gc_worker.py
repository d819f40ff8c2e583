"""A child process of the GC test: log several versions of many small files through the SDK.

Run as ``python gc_worker.py <source dir> <versions>`` with ``CAIRN_DIR`` set; exits 0 when
every version was logged, printing ``logged <name>`` per version.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cairn


def main(source: Path, versions: int) -> None:
    for number in range(versions):
        (source / "changing.txt").write_text(f"version {number}")
        art = cairn.Artifact("busy", "dataset")
        for path in sorted(source.iterdir()):
            art.add_file(str(path))  # loose blobs, which the collector may free
        with cairn.init(project="gc") as run:
            run.log_artifact(art)
        print(f"logged {art.name}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
