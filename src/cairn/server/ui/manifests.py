"""A version's files as a tree the UI pages through, without re-reading the manifest.

A manifest of 100,000 entries is parsed once into a ``FileTree`` (the raw entries by path
and, per directory, its children) and kept in a small LRU cache keyed by version id (a
version's manifest never changes), so each page of a directory costs a slice, not a parse.
Entries are checked and turned into ``ManifestEntry`` only when shown (``Manifest.from_json``
on one entry at a time): opening a page never pays for the 99,950 entries it does not show.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from cairn.core.manifest import Manifest, ManifestEntry

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Child:
    """One line of a directory listing: a file (with its entry) or a subdirectory."""

    name: str
    path: str
    entry: ManifestEntry | None  # None for a directory


class FileTree:
    """The entries of one manifest, with per-directory listings built on first use."""

    def __init__(self, manifest_json: bytes) -> None:
        """Raises: ValueError for bytes that are not a manifest."""
        parsed = json.loads(manifest_json)
        if not isinstance(parsed, dict):
            raise ValueError("Invalid manifest format. Must be a JSON object.")
        contents = parsed.get("contents", {})
        self._header = {k: v for k, v in parsed.items() if k != "contents"}
        Manifest.from_json(self._header)  # the header is valid
        if not isinstance(contents, dict):
            raise ValueError("Invalid manifest format. contents must be an object.")
        self._raw: dict[str, object] = contents
        self._dirs: dict[str, dict[str, bool]] = {"": {}}
        for path in self._raw:
            parent = ""
            parts = path.split("/")
            for depth, part in enumerate(parts):
                is_dir = depth < len(parts) - 1
                self._dirs.setdefault(parent, {})[part] = is_dir
                if not is_dir:
                    break
                parent = f"{parent}{part}/"
        self._sorted: dict[str, list[tuple[str, bool]]] = {}
        self._lock = threading.Lock()

    def entry(self, path: str) -> ManifestEntry | None:
        """The entry at ``path`` (None if none). Raises: ValueError for a malformed entry."""
        raw = self._raw.get(path)
        if raw is None:
            return None
        return Manifest.from_json({**self._header, "contents": {path: raw}}).entries[path]

    def is_dir(self, directory: str) -> bool:
        """``directory``: "" for the root, else a path ending in "/"."""
        return directory in self._dirs

    def listing(self, directory: str, offset: int, limit: int) -> tuple[list[Child], int]:
        """Children of ``directory`` (directories first, then by name) from ``offset``,
        and how many there are.

        Raises: KeyError when ``directory`` is not a directory of the tree.
        """
        with self._lock:
            ordered = self._sorted.get(directory)
            if ordered is None:
                children = self._dirs[directory]
                ordered = sorted(children.items(), key=lambda item: (not item[1], item[0]))
                self._sorted[directory] = ordered
        page = [
            Child(
                name=name,
                path=directory + name + ("/" if is_dir else ""),
                entry=None if is_dir else self.entry(directory + name),
            )
            for name, is_dir in ordered[offset : offset + limit]
        ]
        return page, len(ordered)


class ManifestCache:
    """The last few ``FileTree`` parsed, by version id (thread-safe)."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._trees: OrderedDict[str, FileTree] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, version_id: str, read: Callable[[], bytes]) -> FileTree:
        """The tree of ``version_id``, parsing ``read()`` on a miss.

        Raises: what ``read`` raises; ValueError for a manifest that does not parse.
        """
        with self._lock:
            found = self._trees.get(version_id)
            if found is not None:
                self._trees.move_to_end(version_id)
                return found
        tree = FileTree(read())
        with self._lock:
            self._trees[version_id] = tree
            while len(self._trees) > self.capacity:
                self._trees.popitem(last=False)
        return tree
