"""A version's files: the paginated tree, previews, and downloads.

Previews are chosen by name and size: images (PNG, JPEG, GIF, WebP, BMP) inline from
``/raw/`` with their own content type; W&B ``Table`` JSON as an HTML table paged by
rows; text and JSON (pretty-printed) as escaped text, cut at ``TEXT_LIMIT``; everything
else, and always HTML and SVG, only as a download. ``/download/`` sends the bytes as
``application/octet-stream`` with ``Content-Disposition: attachment``, so no file of an
artifact is ever rendered by the browser as a page. JSON is parsed by ``loads_json``: a
file that is not JSON, or nests deeper than ``MAX_METADATA_DEPTH`` levels, is shown as
text (never a ``RecursionError``).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from cairn.core.manifest import ManifestEntry
from cairn.core.metadata import loads_json
from cairn.errors import NotFoundError
from cairn.protocol import VersionInfo
from cairn.server.ui.manifests import FileTree
from cairn.server.ui.pages import PER_PAGE, V, _pages, resolve
from cairn.server.ui.web import UiRoute, Visitor, VisitorDep, page
from cairn.service import files, versions

router = APIRouter(route_class=UiRoute, include_in_schema=False)

IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
NEVER_SHOWN = {".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".mht", ".mhtml"}
TEXT = {
    ".txt", ".md", ".json", ".jsonl", ".csv", ".tsv", ".yaml", ".yml", ".toml", ".ini",
    ".cfg", ".py", ".log", ".xml", ".sh", ".rst", ".js", ".ts", ".c", ".h", ".cpp",
    ".java", ".go", ".rs", ".sql", ".r", ".ipynb", ".conf", ".env", ".properties",
}  # fmt: skip
TEXT_LIMIT = 256 * 1024
PARSE_LIMIT = 16 * 1024 * 1024  # largest JSON / table parsed for a preview
IMAGE_LIMIT = 32 * 1024 * 1024
TABLE_ROWS = 50


def _tree(visitor: Visitor, info: VersionInfo) -> FileTree:
    def read() -> bytes:
        return versions.read_manifest(visitor.store, visitor.caller, info.id)

    return visitor.source.manifests.tree(info.id, read)


def _entry(visitor: Visitor, info: VersionInfo, path: str) -> ManifestEntry:
    entry = _tree(visitor, info).entry(path)
    if entry is None:
        raise NotFoundError(f"file '{path}' not found in artifact '{info.collection}'")
    return entry


def _read(visitor: Visitor, info: VersionInfo, entry: ManifestEntry, limit: int | None) -> bytes:
    """The entry's bytes (the first ``limit`` of them when given)."""
    found = files.file_bytes(visitor.store, visitor.caller, info.id)
    return found.read(entry.digest, entry.algorithm(), limit)


def kind_of(entry: ManifestEntry) -> str:
    """image, table, json, text, reference or download."""
    if entry.ref is not None:
        return "reference"
    name = entry.path.lower()
    ext = posixpath.splitext(name)[1]
    size = entry.size or 0
    if ext in NEVER_SHOWN:
        return "download"
    if ext in IMAGES and size <= IMAGE_LIMIT:
        return "image"
    if name.endswith(".table.json") and size <= PARSE_LIMIT:
        return "table"
    if ext == ".json" and size <= PARSE_LIMIT:
        return "json"
    if ext in TEXT or "." not in posixpath.basename(name):
        return "text"
    return "download"


@router.get(V + "/files", response_class=HTMLResponse)
def files_page(
    entity: str,
    project: str,
    type: str,
    name: str,
    version: str,
    visitor: VisitorDep,
    dir: str = "",
    offset: int = Query(0, ge=0),
) -> Response:
    info = resolve(visitor, entity, project, type, name, version)
    tree = _tree(visitor, info)
    directory = dir.strip("/") + "/" if dir.strip("/") else ""
    if not tree.is_dir(directory):
        raise NotFoundError(f"directory '{dir}' not found in artifact '{info.collection}'")
    children, total = tree.listing(directory, offset, PER_PAGE)
    return page(
        visitor,
        "files.html",
        tab="files",
        v=info,
        directory=directory,
        crumbs=_crumbs(directory),
        children=children,
        pages=_pages(total, offset, PER_PAGE),
        can_write=False,
    )


def _crumbs(path: str) -> list[tuple[str, str]]:
    """``(name, directory)`` for each directory above ``path``."""
    parts = [p for p in path.split("/")[:-1] if p]
    return [(part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]


def _table(raw: bytes, offset: int) -> dict[str, Any] | None:
    try:
        data = loads_json(raw, what="Table")
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        return None
    rows = data.get("data") if isinstance(data.get("data"), list) else []
    assert isinstance(rows, list)
    shown = [
        [_cell(c) for c in (row if isinstance(row, list) else [row])]
        for row in rows[offset : offset + TABLE_ROWS]
    ]
    return {
        "columns": [str(c) for c in data["columns"]],
        "rows": shown,
        "pages": _pages(len(rows), offset, TABLE_ROWS),
    }


def _cell(value: Any) -> str:
    if isinstance(value, dict) and "_type" in value:
        where = value.get("path") or value.get("sha256") or ""
        return f"[{value['_type']}] {where}".strip()
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:300] + "…"


@router.get(V + "/files/{path:path}", response_class=HTMLResponse)
def file_page(
    entity: str,
    project: str,
    type: str,
    name: str,
    version: str,
    path: str,
    visitor: VisitorDep,
    offset: int = Query(0, ge=0),
) -> Response:
    info = resolve(visitor, entity, project, type, name, version)
    entry = _entry(visitor, info, path)
    kind = kind_of(entry)
    context: dict[str, Any] = {"text": None, "table": None, "truncated": False}
    if kind == "table":
        context["table"] = _table(_read(visitor, info, entry, None), offset)
        kind = "table" if context["table"] is not None else "text"
    if kind == "json":
        raw = _read(visitor, info, entry, None)
        try:
            pretty = json.dumps(loads_json(raw, what="File"), indent=2, ensure_ascii=False)
        except ValueError:
            kind = "text"
        else:
            context["text"], context["truncated"] = pretty[:TEXT_LIMIT], len(pretty) > TEXT_LIMIT
    if kind == "text":
        raw = _read(visitor, info, entry, TEXT_LIMIT + 1)
        if b"\x00" in raw[:8192]:
            kind = "download"
        else:
            context["truncated"] = len(raw) > TEXT_LIMIT
            context["text"] = raw[:TEXT_LIMIT].decode("utf-8", errors="replace")
    directory = posixpath.dirname(path)
    return page(
        visitor,
        "file.html",
        tab="files",
        v=info,
        entry=entry,
        kind=kind,
        crumbs=_crumbs(directory + "/" if directory else ""),
        can_write=False,
        **context,
    )


@router.get(V + "/raw/{path:path}")
def raw_image(
    entity: str, project: str, type: str, name: str, version: str, path: str, visitor: VisitorDep
) -> Response:
    """An image of the version, inline with its own type; anything else is not here."""
    info = resolve(visitor, entity, project, type, name, version)
    entry = _entry(visitor, info, path)
    if kind_of(entry) != "image":
        raise NotFoundError(f"no image '{path}'")
    media_type = IMAGES[posixpath.splitext(path.lower())[1]]
    headers = {"content-security-policy": "default-src 'none'; sandbox", "cache-control": "private"}
    return Response(_read(visitor, info, entry, None), media_type=media_type, headers=headers)


@router.get(V + "/download/{path:path}")
def download(
    entity: str, project: str, type: str, name: str, version: str, path: str, visitor: VisitorDep
) -> Response:
    """The bytes of a file as an attachment (never rendered by the browser)."""
    info = resolve(visitor, entity, project, type, name, version)
    entry = _entry(visitor, info, path)
    if entry.ref is not None:
        raise NotFoundError(f"'{path}' is a reference: its bytes are not stored here")
    filename = posixpath.basename(path)
    headers = {
        "content-disposition": f"attachment; filename*=utf-8''{quote(filename, safe='')}",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private",
    }
    found = files.file_bytes(visitor.store, visitor.caller, info.id)
    loose = found.loose_path(entry.digest, entry.algorithm())
    if loose is not None:
        return FileResponse(loose, media_type="application/octet-stream", headers=headers)
    stream = found.stream(entry.digest, entry.algorithm())
    headers["content-length"] = str(entry.size)
    return StreamingResponse(stream, media_type="application/octet-stream", headers=headers)
