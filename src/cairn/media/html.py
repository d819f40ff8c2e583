"""``Html``: an HTML page stored as ``media/html/<md5[:20]>.html`` (spec §4.5).

With ``inject=True`` (the default) wandb's ``<base>``/stylesheet head is added first, as
wandb does, so pages written by either look the same in the W&B UI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, Media, register, tmp_path

_HEAD = (
    '<base target="_blank"><link rel="stylesheet" type="text/css" '
    'href="https://app.wandb.ai/normalize.css" />'
)


def inject_head(html: str) -> str:
    """Insert wandb's ``<base>`` and stylesheet into the page's head."""
    if "<head>" in html:
        before, after = html.split("<head>", 1)
        parts = [before + "<head>", after]
    elif "<html>" in html:
        before, after = html.split("<html>", 1)
        parts = [before + "<html><head>", "</head>" + after]
    else:
        parts = ["", html]
    parts.insert(1, _HEAD)
    return "".join(parts).strip()


@register
class Html(Media):
    """HTML from a string, a ``.html`` file path, or a readable text stream.

    Raises:
        ValueError: ``data`` is neither a string, a path nor a stream.
        OSError: the file cannot be read.
    """

    _log_type = "html-file"
    _media_subdir = "media/html"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        super().__init__()
        is_path = (
            isinstance(data, str | Path)
            and not data_is_not_path
            and os.path.isfile(data)
            and os.path.splitext(data)[1] == ".html"
        )
        if is_path:
            self.html = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            self.html = data
        elif hasattr(data, "read"):
            if hasattr(data, "seek"):
                data.seek(0)
            self.html = str(data.read())
        else:
            raise ValueError("data must be a string or an io object")
        if inject:
            self.html = inject_head(self.html)
        if inject or not is_path:
            path = tmp_path(".html")
            Path(path).write_text(self.html, encoding="utf-8")
            self._set_file(path, is_tmp=True)
        else:
            self._set_file(str(data))

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Html:
        """The page as stored (no second injection)."""
        html = cls(source.download(json_obj["path"]), inject=False)
        html._file_ref = source.ref_url(json_obj["path"])
        return html


_dtypes.file_type("html-file", Html)
