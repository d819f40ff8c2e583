"""Small blobs in the client cache: one pack per batch, found again by digest, counted,
used and evicted as one file (index first), pinned while a download needs it; a corrupt
index or a damaged pack is removed, never trusted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cairn.core.digest import digest_bytes
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.local.packs import read_range


def _blobs(*contents: bytes) -> list[tuple[str, str, bytes]]:
    return [("md5", digest_bytes(data), data) for data in contents]


def test_a_batch_is_one_pack_found_again_by_digest(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=10**6)
    blobs = _blobs(b"one", b"two", b"three")
    pack = cache.put_packed(blobs)
    assert pack is not None and pack.parent == cache.packs_dir
    assert not os.stat(pack).st_mode & 0o222
    found = cache.find_packed([(alg, digest) for alg, digest, _ in blobs] + [("md5", "x" * 22)])
    assert {key: read_range(location) for key, location in found.items()} == {
        (alg, digest): data for alg, digest, data in blobs
    }
    (listed,) = cache.files()  # one file of the cache, its index counted with it
    assert listed.path == pack and listed.index == pack.with_suffix(".idx")
    assert listed.size == cache.usage() == os.stat(pack).st_size + os.stat(listed.index).st_size
    assert cache.put_packed([]) is None


def test_a_pack_is_evicted_whole_least_recently_used_first(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=10**6)
    old = cache.put_packed(_blobs(b"a" * 1_000, b"b" * 1_000))
    time.sleep(0.01)
    loose = cache.path_for_digest(digest_bytes(b"c" * 1_000), "md5")
    cache.put_atomic(loose, lambda tmp: tmp.write_bytes(b"c" * 1_000))
    time.sleep(0.01)
    new = cache.put_packed(_blobs(b"d" * 1_000))
    assert old is not None and new is not None
    cache.find_packed([("md5", digest_bytes(b"a" * 1_000))])  # used again: now the newest
    plan = cache.plan_cleanup(max_bytes=cache.usage() - 1)
    assert [item.path for item in plan.evict] == [loose]
    freed = cache.plan_cleanup(max_bytes=0).execute()
    assert freed > 4_000 and cache.files() == []
    assert list(cache.packs_dir.iterdir()) == []  # no index left pointing at nothing
    assert cache.find_packed([("md5", digest_bytes(b"a" * 1_000))]) == {}


def test_a_pack_a_download_uses_is_kept_from_another_process(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=10**6)
    blobs = _blobs(b"kept")
    cache.put_packed(blobs)
    code = (
        "import sys; from pathlib import Path; "
        "from cairn.storage.cache.client_cache import ClientCache;"
        "ClientCache(Path(sys.argv[1]), max_bytes=0).enforce_cap()"
    )
    with cache.download_session():
        found = cache.find_packed([blobs[0][:2]])
        subprocess.run([sys.executable, "-c", code, str(cache.root)], check=True)
        assert read_range(found[blobs[0][:2]]) == b"kept"
    subprocess.run([sys.executable, "-c", code, str(cache.root)], check=True)
    assert cache.files() == []


def test_a_corrupt_index_is_removed_with_its_pack(tmp_path: Path) -> None:
    cache = ClientCache(tmp_path / "c", max_bytes=10**6)
    bad = cache.put_packed(_blobs(b"bad"))
    good = cache.put_packed(_blobs(b"good"))
    assert bad is not None and good is not None
    index = bad.with_suffix(".idx")
    os.chmod(index, 0o644)
    index.write_bytes(index.read_bytes()[:-1] + b"!")
    # Another process, which reads the indexes (this one adopted its packs as it wrote them).
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from cairn.storage.cache.client_cache import ClientCache;"
            "from cairn.core.digest import digest_bytes;"
            "c = ClientCache(Path(sys.argv[1]), max_bytes=10**6);"
            "print(sorted(d for _a, d in c.find_packed([('md5', digest_bytes(b'bad')),"
            " ('md5', digest_bytes(b'good'))])))",
            str(cache.root),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert other.stdout.strip() == str([digest_bytes(b"good")])
    assert not bad.exists() and not index.exists() and good.exists()
