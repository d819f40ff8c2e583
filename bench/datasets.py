"""Deterministic benchmark data sets, generated once under the cache directory.

small: 20,000 files of 4 KiB in 100 folders; medium: 200 files of 1 MiB; large: one
file of 1 GiB; huge (optional): 1,000,000 files of 100 B in 1,000 folders. Every byte
comes from ``random.Random`` seeded by the set and file name, so two machines generate
the same trees. A ``<name>.done`` stamp beside the folder marks a complete set (a stamp
inside it would be added to the artifacts).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB

# name -> (file count, file size, folder count)
SETS: dict[str, tuple[int, int, int]] = {
    "small": (20_000, 4 * KiB, 100),
    "medium": (200, MiB, 1),
    "large": (1, 1024 * MiB, 1),
    "huge": (1_000_000, 100, 1_000),
}


def file_path(root: Path, name: str, index: int) -> Path:
    """Where file ``index`` of data set ``name`` lives below ``root``."""
    _count, _size, folders = SETS[name]
    if folders == 1:
        return root / f"file-{index:07d}.bin"
    return root / f"dir-{index % folders:04d}" / f"file-{index:07d}.bin"


def content(name: str, index: int, variant: int = 0) -> bytes:
    """The bytes of one file (``variant`` > 0 gives the edited versions of file 0)."""
    _count, size, _folders = SETS[name]
    return random.Random(f"{name}/{index}/{variant}").randbytes(size)


def ensure(data_dir: Path, name: str) -> Path:
    """Generate data set ``name`` under ``data_dir`` unless already complete; return its root."""
    root = data_dir / name
    stamp = data_dir / f"{name}.done"
    if stamp.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    count, size, _folders = SETS[name]
    if size >= 64 * MiB:
        rng = random.Random(f"{name}/0/0")
        with open(file_path(root, name, 0), "wb") as out:
            for _ in range(size // MiB):
                out.write(rng.randbytes(MiB))
    else:
        for index in range(count):
            path = file_path(root, name, index)
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content(name, index))
    stamp.touch()
    return root
