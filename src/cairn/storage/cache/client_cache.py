"""The client cache: downloaded bytes kept under ``$CAIRN_CACHE_DIR`` with a byte cap.

Server-mode downloads and downloaded references (both modes) land here, in W&B's layout
(spec §2.2): ``obj/md5/<2 hex>/<30 hex>``, ``obj/xxh128/...`` and ``obj/etag/<2>/<62>``
(references keyed by URL and ETag, TV4), and ``obj/chunk/<2 hex>/<62 hex>`` for the chunks
of large files a server stores as chunk lists (issue 24: the next version of such a file
fetches only the chunks the cache lacks). Every file is written to a temporary file in
``tmp/`` and renamed into place (``put_atomic``), so no reader sees a partial file. Small
blobs that come down in batches are kept in packs instead, one per batch, under
``packs/`` (``cache_packs``: ``put_packed``, ``find_packed``); a pack is one file of the
cache, counted, used and evicted as one.

The cache never holds the only copy of anything, so it may forget: the files under ``obj/``
are kept below a byte cap by evicting the least-recently-used ones (oldest access time;
``put_atomic`` and ``mark_used`` set it explicitly, since ``relatime`` mounts barely update
it). The cap defaults to 10 GB, or 10% of the cache's file system when that is smaller
(``default_max_bytes``); ``CAIRN_CACHE_MAX_BYTES`` overrides it. The cap never applies to
the embedded blob store, which is a different directory (DESIGN §4).

A file that a running download needs is never evicted: while a ``download_session()`` is
open in a process, every file that process puts or uses is pinned, both in memory and in a
pin file ``pins/<pid>-<token>.pins`` that evictors in other processes read (pin files of
dead processes are removed). Evicting, and "check a file is cached, then pin it", both
happen under the lock file ``lock`` (``flock``), so a pinned file is never removed.
When the last session of a process closes its pins are dropped and the cap is enforced.
Callers must still check a cached file's digest before trusting it (the cache never
vouches for bytes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cairn.core.digest import blob_key, etag_cache_key
from cairn.progress import format_bytes
from cairn.storage.cache.packs import CachePacks, Key, discard
from cairn.storage.local.packs import INDEX_SUFFIX, Location

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from cairn.settings import Settings

OBJ_DIR = "obj"
CHUNK_DIR = "chunk"  # below obj/: chunks of large files fetched from a server
TMP_DIR = "tmp"
PINS_DIR = "pins"
LOCK_FILE = "lock"
FILE_MODE = 0o444
DEFAULT_CAP_BYTES = 10 * 1000**3  # 10 GB (decimal, as W&B's cleanup sizes)
DEFAULT_CAP_FRACTION = 0.10
TMP_GRACE_SECONDS = 3600.0


def default_max_bytes(root: Path) -> int:
    """The default cap: 10 GB, or 10% of the file system holding ``root`` if smaller.

    Raises nothing: when the file system cannot be measured the cap is 10 GB.
    """
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        total = shutil.disk_usage(probe).total
    except OSError:
        return DEFAULT_CAP_BYTES
    return max(1, min(DEFAULT_CAP_BYTES, int(total * DEFAULT_CAP_FRACTION)))


@dataclasses.dataclass(frozen=True)
class CacheFile:
    """One cached file: its path, size, last use and last change (epoch seconds); for a
    pack, ``index`` is its index (removed first) and ``size`` counts both files."""

    path: Path
    size: int
    last_used: float
    modified: float
    index: Path | None = None


@dataclasses.dataclass(frozen=True)
class CleanupPlan:
    """What ``ClientCache.plan_cleanup`` would remove; ``execute()`` removes it.

    ``evict`` are cached files (least recently used first), ``stale_tmp`` temporary files
    of crashed writers; ``kept_bytes`` is what stays under ``obj/`` afterwards.
    """

    root: Path
    max_bytes: int
    evict: list[CacheFile]
    stale_tmp: list[CacheFile]
    kept_bytes: int

    @property
    def bytes(self) -> int:
        """Bytes the plan frees."""
        return sum(f.size for f in self.evict) + sum(f.size for f in self.stale_tmp)

    def describe(self) -> str:
        """One line saying what the plan removes."""
        return (
            f"cache {self.root}: remove {len(self.evict)} cached files and "
            f"{len(self.stale_tmp)} stale temporary files ({format_bytes(self.bytes)}), "
            f"keep {format_bytes(self.kept_bytes)} (cap {format_bytes(self.max_bytes)})"
        )

    def execute(self) -> int:
        """Remove the planned files (a file already gone is skipped); return bytes freed.

        Pinned files are never removed, even if they were pinned after planning.

        Raises:
            OSError: a file exists but cannot be removed.
        """
        freed = 0
        with _evictions_locked(self.root):
            pinned = _pinned_paths(self.root)
            for item in [*self.evict, *self.stale_tmp]:
                if item.path in pinned:
                    continue
                if item.index is not None:
                    freed += item.size if discard(item.path) else 0
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.path)
                    freed += item.size
        _state_for(self.root).forget_usage()
        return freed


@contextlib.contextmanager
def _evictions_locked(root: Path) -> Iterator[None]:
    """Hold the cache's lock file (``flock``, all threads and processes): removing files
    and "check a file is there, then pin it" never interleave, so a pinned file exists."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class _RootState:
    """Per-process state of one cache root, shared by every ``ClientCache`` on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packs = CachePacks(root, root / TMP_DIR)
        self.lock = threading.RLock()
        self.sessions = 0
        self.pinned: set[Path] = set()
        self.pin_file: IO[str] | None = None
        self.usage: int | None = None  # obj/ bytes, estimated since the last scan
        self.put_since_scan = False  # other processes may have grown it too: rescan

    def forget_usage(self) -> None:
        with self.lock:
            self.usage = None

    def pin(self, path: Path) -> None:
        with self.lock:
            if self.sessions == 0 or path in self.pinned:
                return
            self.pinned.add(path)
            if self.pin_file is None:
                pins = self.root / PINS_DIR
                pins.mkdir(parents=True, exist_ok=True)
                name = f"{os.getpid()}-{secrets.token_hex(6)}.pins"
                self.pin_file = open(pins / name, "a", encoding="utf-8")  # noqa: SIM115
            self.pin_file.write(f"{path}\n")
            self.pin_file.flush()

    def release(self) -> None:
        with self.lock:
            self.pinned.clear()
            if self.pin_file is not None:
                name = self.pin_file.name
                self.pin_file.close()
                self.pin_file = None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)


_states: dict[Path, _RootState] = {}
_states_lock = threading.Lock()


def _state_for(root: Path) -> _RootState:
    with _states_lock:
        state = _states.get(root)
        if state is None:
            state = _states[root] = _RootState(root)
        return state


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pinned_paths(root: Path) -> set[Path]:
    """Every path pinned by a live process (this one included); drops dead pin files."""
    state = _state_for(root)
    with state.lock:
        pinned = set(state.pinned)
    pins = root / PINS_DIR
    if not pins.is_dir():
        return pinned
    for pin_file in pins.iterdir():
        pid_text = pin_file.name.split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        if not _pid_alive(int(pid_text)):
            with contextlib.suppress(FileNotFoundError):
                pin_file.unlink()
            continue
        with contextlib.suppress(FileNotFoundError):
            pinned.update(Path(line) for line in pin_file.read_text().splitlines() if line)
    return pinned


def _scan(directory: Path) -> list[CacheFile]:
    """Every regular file below ``directory`` (symlinks are not followed)."""
    found: list[CacheFile] = []
    if not directory.is_dir():
        return found
    for dirpath, _dirnames, filenames in os.walk(directory):
        for name in filenames:
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            if path.is_symlink():
                continue
            found.append(CacheFile(path, st.st_size, st.st_atime, st.st_mtime))
    return found


class ClientCache:
    """The client cache at ``root`` (see the module doc); safe for threads and processes.

    ``max_bytes`` is the cap on the bytes under ``obj/``; ``None`` means
    ``default_max_bytes(root)``.

    Raises (at construction):
        ValueError: ``max_bytes`` is negative.
    """

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"The cache cap must not be negative: {max_bytes}")
        self.root = Path(root).expanduser().absolute()
        self.obj_dir = self.root / OBJ_DIR
        self.tmp_dir = self.root / TMP_DIR
        self.max_bytes = max_bytes if max_bytes is not None else default_max_bytes(self.root)
        self._state = _state_for(self.root)
        self.packs_dir = self._state.packs.dir

    @classmethod
    def for_settings(cls, settings: Settings) -> ClientCache:
        """The cache of ``settings``: ``cache_dir`` capped at ``cache_max_bytes``."""
        return cls(settings.cache_dir, settings.cache_max_bytes)

    # ------------------------------------------------------------ paths

    def path_for_digest(self, digest: str, algorithm: str) -> Path:
        """``obj/<algorithm>/<2 hex>/<rest>`` for a base64 entry digest (it may not exist).

        Raises:
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        return self.obj_dir / blob_key(digest, algorithm)

    def path_for_chunk(self, hex_id: str) -> Path:
        """``obj/chunk/<2 hex>/<62 hex>``: a chunk of a large file fetched from a server
        (``cairn.remote.chunked``), counted in the cap and evicted like any cached file.

        Raises:
            ValueError: ``hex_id`` is not 64 lowercase hex digits.
        """
        if len(hex_id) != 64 or hex_id.strip("0123456789abcdef"):
            raise ValueError(f"Invalid chunk id {hex_id[:80]!r}")
        return self.obj_dir / CHUNK_DIR / hex_id[:2] / hex_id[2:]

    def path_for_etag(self, url: str, etag: str) -> Path:
        """``obj/etag/<2 hex>/<62 hex>`` for a reference fetched from ``url`` with ``etag``."""
        key = etag_cache_key(url, etag)
        return self.obj_dir / "etag" / key[:2] / key[2:]

    # ------------------------------------------------------------ reading and writing

    def lookup(self, path: Path) -> Path | None:
        """``path`` if it is cached (marking it used and pinning it), else ``None``.

        The caller must check the file's digest before using its bytes.

        Raises:
            ValueError: ``path`` is not below ``obj/``.
        """
        self._check_inside(path)
        with _evictions_locked(self.root):  # no evictor runs between the check and the pin
            if not path.is_file():
                return None
            self.mark_used(path)
        return path

    def mark_used(self, path: Path) -> None:
        """Record a use of the cached ``path`` (LRU order) and pin it during a session.

        Raises:
            ValueError: ``path`` is neither below ``obj/`` nor a pack.
        """
        self._check_inside(path, packs=True)
        self._state.pin(path)
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            os.utime(path, (time.time(), st.st_mtime))

    def put_atomic(self, path: Path, write: Callable[[Path], None]) -> Path:
        """Fill ``path`` (below ``obj/``) through ``write(tmp)`` and an atomic rename.

        ``write`` gets a fresh temporary path in ``tmp/`` and must create the file there
        (and check its digest); if it raises, the temporary file is removed and nothing is
        cached. The file is made read-only, marked used and pinned during a session, and
        the cap is enforced when the cache grows past it. Returns ``path``.

        Raises:
            ValueError: ``path`` is not below ``obj/``.
            OSError: the cache cannot be written.
            Whatever ``write`` raises.
        """
        self._check_inside(path)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_dir / f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(8)}.tmp"
        try:
            write(tmp)
            os.chmod(tmp, FILE_MODE)
            path.parent.mkdir(parents=True, exist_ok=True)
            with _evictions_locked(self.root):  # published and pinned as one step
                os.replace(tmp, path)
                self.mark_used(path)
                size = path.stat().st_size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._grew(size)
        return path

    def put_packed(self, blobs: Sequence[tuple[str, str, bytes | memoryview]]) -> Path | None:
        """Keep ``(algorithm, base64 digest, bytes)`` blobs, each checked by the caller, as
        one pack (see ``cache_packs``), marked used and pinned during a session; the cap is
        enforced when the cache grows past it. Returns the pack (None for no blobs).

        Raises:
            OSError: the cache cannot be written (nothing of the pack is visible).
            ValueError: an unknown algorithm.
        """
        pack = self._state.packs.write(blobs)
        if pack is None:
            return None
        with _evictions_locked(self.root):
            self.mark_used(pack)
            size = pack.stat().st_size + pack.with_suffix(INDEX_SUFFIX).stat().st_size
        self._grew(size)
        return pack

    def find_packed(self, keys: Iterable[Key]) -> dict[Key, Location]:
        """Where each ``(algorithm, base64 digest)`` of ``keys`` is packed, for those that
        are; every pack named is marked used and pinned during a session, so it stays
        while the session lasts. The caller must check each blob's digest (and
        ``drop_pack`` a pack that holds a wrong one).

        Raises:
            OSError: the cache cannot be listed.
            ValueError: an unknown algorithm.
        """
        found = self._state.packs.locate(keys)
        packs = {location[0] for location in found.values()}
        with _evictions_locked(self.root):  # no evictor runs between the check and the pin
            gone = {pack for pack in packs if not pack.is_file()}
            for pack in packs - gone:
                self.mark_used(pack)
        return {key: loc for key, loc in found.items() if loc[0] not in gone}

    def drop_pack(self, pack: Path) -> None:
        """Remove a pack found damaged (its index first).

        Raises:
            ValueError: ``pack`` is not a pack of this cache.
            OSError: it exists but cannot be removed.
        """
        self._check_inside(pack, packs=True)
        discard(pack)

    @contextlib.contextmanager
    def download_session(self) -> Iterator[ClientCache]:
        """Pin every file this process puts or uses until the block ends, then enforce the cap.

        Sessions nest and may run in several threads; pins are dropped when the last one
        ends.

        Raises (on exit):
            OSError: an evicted file exists but cannot be removed.
        """
        with self._state.lock:
            self._state.sessions += 1
        try:
            yield self
        finally:
            with self._state.lock:
                self._state.sessions -= 1
                last = self._state.sessions == 0
                if last:
                    self._state.release()
            if last and self._maybe_over():
                self.enforce_cap()

    # ------------------------------------------------------------ size

    def files(self) -> list[CacheFile]:
        """The cached files under ``obj/`` and the packs, least recently used first.

        Raises:
            OSError: a directory of the cache cannot be listed.
        """
        return sorted(self._cached(), key=lambda f: (f.last_used, str(f.path)))

    def usage(self) -> int:
        """Bytes under ``obj/`` and in packs (a fresh scan).

        Raises:
            OSError: a directory of the cache cannot be listed.
        """
        return sum(f.size for f in self._cached())

    def _cached(self) -> list[CacheFile]:
        packs = [
            CacheFile(p.path, p.size, p.last_used, p.modified, p.index)
            for p in self._state.packs.scan()
        ]
        return _scan(self.obj_dir) + packs

    def plan_cleanup(
        self, max_bytes: int | None = None, tmp_grace_seconds: float = TMP_GRACE_SECONDS
    ) -> CleanupPlan:
        """Plan to bring ``obj/`` down to ``max_bytes`` (default: the cap), LRU first.

        Pinned files are kept even if that leaves the cache above the target. Temporary
        files older than ``tmp_grace_seconds`` (crashed writers) are removed too.

        Raises:
            ValueError: ``max_bytes`` is negative.
            OSError: a directory of the cache cannot be listed.
        """
        target = self.max_bytes if max_bytes is None else max_bytes
        if target < 0:
            raise ValueError(f"The cache target size must not be negative: {target}")
        pinned = _pinned_paths(self.root)
        files = self.files()
        total = sum(f.size for f in files)
        evict: list[CacheFile] = []
        for item in files:
            if total <= target:
                break
            if item.path in pinned:
                continue
            evict.append(item)
            total -= item.size
        cutoff = time.time() - tmp_grace_seconds
        stale = [f for f in _scan(self.tmp_dir) if f.modified < cutoff]
        return CleanupPlan(self.root, target, evict, stale, total)

    def enforce_cap(self) -> int:
        """Evict least-recently-used unpinned files until ``obj/`` fits the cap.

        Returns the bytes freed.

        Raises:
            OSError: a file exists but cannot be removed.
        """
        plan = self.plan_cleanup(self.max_bytes, tmp_grace_seconds=float("inf"))
        freed = plan.execute() if plan.evict else 0
        with self._state.lock:
            self._state.usage = plan.kept_bytes
            self._state.put_since_scan = False
        return freed

    def _maybe_over(self) -> bool:
        """Whether ``obj/`` may exceed the cap: its size is unknown, over the cap, or this
        process wrote to it since the last scan (other processes may have too)."""
        with self._state.lock:
            state = self._state
            return state.usage is None or state.usage > self.max_bytes or state.put_since_scan

    def _grew(self, size: int) -> None:
        """Account for ``size`` new bytes; enforce the cap when the estimate passes it."""
        with self._state.lock:
            self._state.put_since_scan = True
            if self._state.usage is None:
                self._state.usage = self.usage()
            else:
                self._state.usage += size
            over = self._state.usage > self.max_bytes
        if over:
            self.enforce_cap()

    def _check_inside(self, path: Path, packs: bool = False) -> None:
        """Raise ValueError unless ``path`` is below ``obj/`` (or, with ``packs``, a pack)."""
        if Path(path).is_relative_to(self.obj_dir):
            return
        if packs and Path(path).parent == self.packs_dir:
            return
        raise ValueError(f"Not a path of the cache '{self.obj_dir}': '{path}'")
