"""Turning data into safe HTML: the Jinja2 environment, Markdown, and small formatters.

Jinja2 autoescapes every value. Descriptions are Markdown rendered by markdown-it-py with
raw HTML off, then cleaned by nh3 (an allow-list sanitiser), so a stored ``<script>`` or a
``javascript:`` link never reaches the page as markup. URLs are built by ``url_*`` with
every path segment percent-encoded, matching ``Artifact.url``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str | None) -> Markup:
    """``text`` as sanitised HTML (empty for None)."""
    if not text:
        return Markup("")
    html = _markdown().render(text)
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))


def size(value: int | None) -> str:
    """``1536`` -> ``"1.5 KB"`` (decimal units, as W&B shows them)."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{value} B"


def ttl(seconds: int | None, inherited: bool) -> str:
    if seconds is None:
        return "inherits (none)" if inherited else "none"
    days, rest = divmod(seconds, 86400)
    text = f"{days} d {rest // 3600} h" if days else f"{seconds // 3600} h {rest % 3600 // 60} min"
    return f"{text} (inherited)" if inherited else text


def seg(value: object) -> str:
    return quote(str(value), safe="")


def url_project(entity: str, project: str) -> str:
    return f"/{seg(entity)}/{seg(project)}"


def url_type(entity: str, project: str, type_name: str) -> str:
    return f"{url_project(entity, project)}/artifacts/{seg(type_name)}"


def url_collection(entity: str, project: str, type_name: str, name: str) -> str:
    return f"{url_type(entity, project, type_name)}/{seg(name)}"


def url_version(entity: str, project: str, type_name: str, name: str, version: str) -> str:
    return f"{url_collection(entity, project, type_name, name)}/{seg(version)}"


def url_run(entity: str, project: str, run_id: str) -> str:
    return f"{url_project(entity, project)}/runs/{seg(run_id)}"


def url_path(path: str) -> str:
    """A file path inside a version, each segment encoded, slashes kept."""
    return "/".join(seg(part) for part in path.split("/"))


def query(**params: object) -> str:
    """``?a=1&b=2`` of the non-None params."""
    kept = {k: str(v) for k, v in params.items() if v is not None}
    return "?" + urlencode(kept) if kept else ""


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(markdown=markdown, size=size, ttl=ttl, seg=seg, url_path=url_path)
    env.globals.update(
        url_project=url_project,
        url_type=url_type,
        url_collection=url_collection,
        url_version=url_version,
        url_run=url_run,
        query=query,
        pretty_json=pretty_json,
    )
    return env
