"""Memory stays bounded when the disk is slower than the reader (issue 23): the copy that
hashes a large file while writing it holds a few chunks at most, however slow the writes,
and logging then downloading a 512 MiB file stays far below its size in RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from cairn.storage import hashing


def test_a_slow_writer_never_makes_the_copy_hold_more_than_a_few_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "large.bin"
    with open(source, "wb") as out:
        for _ in range(64):
            out.write(os.urandom(hashing.CHUNK_SIZE))
    written = 0
    real_write_all = hashing.write_all

    def slow_write_all(fd: int, data: memoryview | bytes) -> None:
        nonlocal written
        time.sleep(0.005)  # a disk far slower than the reader
        real_write_all(fd, data)
        written += len(data)

    monkeypatch.setattr(hashing, "write_all", slow_write_all)
    tracemalloc.start()
    try:
        digest, size = hashing.copy_and_hash(source, tmp_path / "copy.bin", "md5")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == written == 64 * hashing.CHUNK_SIZE
    assert (digest, size) == hashing.hash_file(tmp_path / "copy.bin", "md5")
    # the buffers in flight (_OVERLAP_DEPTH chunks) and some change, never the file
    assert peak < (hashing._OVERLAP_DEPTH + 4) * hashing.CHUNK_SIZE, peak


SCRIPT = textwrap.dedent(
    """
    import sys
    import cairn
    with cairn.init(project="p") as run:
        art = cairn.Artifact("big", "model")
        art.add_file(sys.argv[1])
        run.log_artifact(art)
    root = cairn.Api().artifact("p/big:latest").download(sys.argv[2])
    # VmHWM, this process's own peak: ru_maxrss keeps the peak of the process that started
    # it (Linux carries it over exec), so a large pytest worker would be measured instead
    with open("/proc/self/status") as status:
        print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
    """
)


@pytest.mark.slow
def test_logging_and_downloading_512_mib_stays_under_150_mb_rss(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    with open(source, "wb") as out:
        for _ in range(512):
            out.write(os.urandom(1024 * 1024))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env.update(CAIRN_DIR=str(tmp_path / "home"), CAIRN_SILENT="1", HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(source), str(tmp_path / "down")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    peak_mb = int(done.stdout.strip()) / 1024  # VmHWM is in kB
    assert peak_mb < 150, peak_mb
    assert (tmp_path / "down" / "big.bin").stat().st_size == 512 * 1024 * 1024
