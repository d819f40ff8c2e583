"""The client cache: W&B layout, atomic writes, the byte cap with LRU eviction, and pins."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.settings import Settings
from cairn.storage.cache.client_cache import ClientCache, default_max_bytes


def _write_bytes(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        if digest_bytes(tmp.read_bytes()) != digest_bytes(data):
            raise ValueError("digest mismatch")

    return write


def _fetch(cache: ClientCache, data: bytes, dest: Path) -> None:
    """What a download does: use the cached copy if it verifies, else fill the cache."""
    digest = digest_bytes(data)
    path = cache.path_for_digest(digest, "md5")
    hit = cache.lookup(path)
    if hit is None or digest_bytes(hit.read_bytes()) != digest:
        cache.put_atomic(path, _write_bytes(data))
    dest.write_bytes(path.read_bytes())


def test_layout_follows_wandb(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=1000)
    digest = digest_bytes(b"hello\n")  # md5 b1946ac92492d2347c6235b4d2611184
    assert cache.path_for_digest(digest, "md5") == (
        tmp_path / "c" / "obj" / "md5" / "b1" / "946ac92492d2347c6235b4d2611184"
    )
    etag = cache.path_for_etag("https://example.com/x.csv", "abc123")
    key = "e91b2c81a1d9f7a67c7cc228ec0414cb8c4d3b37b3b1cd1c879de23c404a6e64"  # TV4
    assert etag == tmp_path / "c" / "obj" / "etag" / key[:2] / key[2:]
    with pytest.raises(ValueError):
        cache.path_for_digest("not-a-digest", "md5")


def test_put_atomic_publishes_read_only_and_cleans_up_on_failure(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=1000)
    path = cache.path_for_digest(digest_bytes(b"abc"), "md5")
    assert cache.put_atomic(path, _write_bytes(b"abc")) == path
    assert path.read_bytes() == b"abc"
    assert not os.stat(path).st_mode & 0o222

    other = cache.path_for_digest(digest_bytes(b"xyz"), "md5")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise OSError("network went away")

    with pytest.raises(OSError, match="network went away"):
        cache.put_atomic(other, broken)
    assert not other.exists()
    assert list((tmp_path / "c" / "tmp").iterdir()) == []
    with pytest.raises(ValueError, match="Not a path of the cache"):
        cache.put_atomic(tmp_path / "elsewhere", _write_bytes(b"abc"))


def test_filling_past_the_cap_keeps_the_cap_and_downloads_still_verify(tmp_path: Path) -> None:
    cap = 10_000
    cache = ClientCache(tmp_path / "c", max_bytes=cap)
    blobs = [os.urandom(1_500) + bytes([i]) for i in range(40)]  # 60 kB in all: 6x the cap
    for round_ in range(3):
        for start in range(0, len(blobs), 5):  # one "download" of 5 files at a time
            out = tmp_path / f"out-{round_}-{start}"
            out.mkdir()
            with cache.download_session():
                for i, data in enumerate(blobs[start : start + 5]):
                    _fetch(cache, data, out / f"f{i}")
            assert cache.usage() <= cap
            for i, data in enumerate(blobs[start : start + 5]):
                assert (
                    hashlib.md5((out / f"f{i}").read_bytes()).digest() == hashlib.md5(data).digest()
                )
    assert 0 < len(cache.files()) <= cap // 1_500


def test_eviction_is_least_recently_used(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=3_000)
    data = [bytes([i]) * 1_000 for i in range(3)]
    paths = [cache.path_for_digest(digest_bytes(d), "md5") for d in data]
    for path, d in zip(paths, data, strict=True):
        cache.put_atomic(path, _write_bytes(d))
        time.sleep(0.01)
    cache.mark_used(paths[0])  # now paths[1] is the least recently used
    newcomer = b"n" * 1_000
    cache.put_atomic(cache.path_for_digest(digest_bytes(newcomer), "md5"), _write_bytes(newcomer))
    assert paths[0].exists() and paths[2].exists()
    assert not paths[1].exists()
    assert cache.usage() <= 3_000


def test_a_running_download_keeps_its_files_even_over_the_cap(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=2_000)
    data = [bytes([i]) * 1_000 for i in range(5)]
    with cache.download_session():
        paths = []
        for d in data:
            path = cache.path_for_digest(digest_bytes(d), "md5")
            cache.put_atomic(path, _write_bytes(d))
            paths.append(path)
        assert all(p.exists() for p in paths)  # all pinned: the cap waits for the session
        # Another process enforcing the cap must not evict them either.
        code = (
            "import sys; from pathlib import Path; "
            "from cairn.storage.cache.client_cache import ClientCache;"
            "ClientCache(Path(sys.argv[1]), max_bytes=0).enforce_cap()"
        )
        subprocess.run([sys.executable, "-c", code, str(cache.root)], check=True)
        assert all(p.exists() for p in paths)
    assert cache.usage() <= 2_000  # pins dropped: the cap holds again
    assert not list((cache.root / "pins").iterdir())


def test_pin_files_of_dead_processes_are_ignored(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=0)
    path = cache.path_for_digest(digest_bytes(b"x" * 10), "md5")
    cache.put_atomic(path, _write_bytes(b"x" * 10))  # over a cap of 0: evicted at once
    assert not path.exists()
    cache = ClientCache(tmp_path / "c", max_bytes=100)
    cache.put_atomic(path, _write_bytes(b"x" * 10))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    pins = cache.root / "pins"
    pins.mkdir(exist_ok=True)
    (pins / f"{dead}-abc.pins").write_text(f"{path}\n")
    plan = cache.plan_cleanup(0)
    assert [f.path for f in plan.evict] == [path]
    assert plan.execute() == 10
    assert not (pins / f"{dead}-abc.pins").exists()


def test_cleanup_plan_removes_stale_temporary_files_only_after_grace(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=10_000)
    cache.tmp_dir.mkdir(parents=True)
    old = cache.tmp_dir / "crashed.tmp"
    old.write_bytes(b"x" * 100)
    past = time.time() - 7200
    os.utime(old, (past, past))
    young = cache.tmp_dir / "writing.tmp"
    young.write_bytes(b"y")
    plan = cache.plan_cleanup(None, tmp_grace_seconds=3600)
    assert [f.path for f in plan.stale_tmp] == [old]
    assert "1 stale temporary files" in plan.describe()
    assert plan.execute() == 100
    assert young.exists() and not old.exists()
    with pytest.raises(ValueError):
        cache.plan_cleanup(-1)


def test_cap_comes_from_settings_and_defaults_to_10gb_or_a_tenth_of_the_disk(
    tmp_path: Path,
) -> None:
    settings = Settings.load(
        environ={"CAIRN_CACHE_DIR": str(tmp_path), "CAIRN_CACHE_MAX_BYTES": "5MB"}
    )
    assert ClientCache.for_settings(settings).max_bytes == 5_000_000
    default = ClientCache.for_settings(Settings.load(environ={"CAIRN_CACHE_DIR": str(tmp_path)}))
    assert default.max_bytes == default_max_bytes(tmp_path)
    assert 0 < default.max_bytes <= 10 * 1000**3
    with pytest.raises(ValueError, match="CAIRN_CACHE_MAX_BYTES"):
        Settings.load(environ={"CAIRN_CACHE_MAX_BYTES": "lots"})
    with pytest.raises(ValueError):
        ClientCache(tmp_path, max_bytes=-1)


def test_files_in_use_survive_an_evictor_running_in_another_process(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=0)  # every unpinned file must go
    evict_loop = (
        "import sys; from pathlib import Path\n"
        "from cairn.storage.cache.client_cache import ClientCache\n"
        "cache = ClientCache(Path(sys.argv[1]), max_bytes=0)\n"
        "for _ in range(300): cache.enforce_cap()\n"
    )
    blobs = [os.urandom(200) for _ in range(150)]
    evictor = subprocess.Popen([sys.executable, "-c", evict_loop, str(cache.root)])
    try:
        with cache.download_session():
            for index, data in enumerate(blobs):
                _fetch(cache, data, tmp_path / f"out-{index}")  # never FileNotFoundError
                again = cache.lookup(cache.path_for_digest(digest_bytes(data), "md5"))
                assert again is not None and again.read_bytes() == data  # pinned: kept
    finally:
        assert evictor.wait(timeout=300) == 0
    assert cache.usage() == 0  # the session ended: nothing is pinned, the cap (0) holds
