"""``Bokeh``: a bokeh document stored as ``media/bokeh/<md5[:20]>.bokeh.json``.

The document JSON is produced and parsed by bokeh itself (``Document.to_json`` /
``from_json``), never executed; references are sorted by id so equal plots give equal files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, Media, register, require, tmp_path


def _doc_json(document: Any) -> dict[str, Any]:
    serialized = document.to_json(deferred=False)
    return dict(json.loads(json.dumps(serialized, default=str)))


@register
class Bokeh(Media):
    """A bokeh model, document, or path to a saved ``.bokeh.json`` document.

    Raises:
        TypeError: anything else.
        ImportError: bokeh is missing (``pip install 'cairn[media]' bokeh``).
    """

    _log_type = "bokeh-file"
    _media_subdir = "media/bokeh"

    def __init__(self, data_or_path: Any) -> None:
        super().__init__()
        bokeh_document = require("bokeh.document")
        bokeh_model = require("bokeh.model")
        if isinstance(data_or_path, str | Path) and os.path.exists(data_or_path):
            b_json = json.loads(Path(data_or_path).read_text(encoding="utf-8"))
            self.b_obj = bokeh_document.Document.from_json(b_json)
            self._set_file(str(data_or_path))
        elif isinstance(data_or_path, bokeh_model.Model | bokeh_document.Document):
            document = data_or_path
            if isinstance(data_or_path, bokeh_model.Model):
                document = bokeh_document.Document()
                document.add_root(data_or_path)
            self.b_obj = bokeh_document.Document.from_json(_doc_json(document))
            b_json = _doc_json(self.b_obj)
            roots = b_json.get("roots")
            if isinstance(roots, dict) and "references" in roots:
                roots["references"].sort(key=lambda item: item["id"])
            path = tmp_path(".bokeh.json")
            Path(path).write_text(json.dumps(b_json), encoding="utf-8")
            self._set_file(path, is_tmp=True)
        else:
            raise TypeError(
                "Bokeh constructor accepts Bokeh document/model or path to Bokeh json file"
            )

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Bokeh:
        """The document as stored."""
        value = cls(source.download(json_obj["path"]))
        value._file_ref = source.ref_url(json_obj["path"])
        return value


_dtypes.file_type("bokeh-file", Bokeh)
