"""Cairn writes the files and JSON the real ``wandb`` writes (golden files, issue 4).

Each case of ``golden/make_golden.py`` is built again with Cairn's value types and added
to a draft; the JSON is compared key by key and media files by decoded content (see
``golden/README.md`` for the fields that vary).
"""

from __future__ import annotations

import importlib.util
import json
import re
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import cairn

GOLDEN = Path(__file__).parent / "golden"
INDEX = json.loads((GOLDEN / "index.json").read_text())
CASES = sorted(INDEX["cases"])
_GENERATED = re.compile(r"^media/(images|images/mask|audio|html|object3D|bokeh)/[0-9a-f]{20}\.")
_JOINED = re.compile(r"^t[12]_\d+\.table\.json$")


def _fixed_inputs() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inputs: dict[str, Any] = module.fixed_inputs(cairn)
    return inputs


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    return _fixed_inputs()


def _wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as source:
        raw = source.readframes(source.getnframes())
        return np.frombuffer(raw, dtype="<i2"), source.getframerate()


def _frames(path: Path) -> list[np.ndarray]:
    out = []
    with PILImage.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            out.append(np.asarray(image.convert("RGB")))
    return out


def _bokeh(path: Path) -> Any:
    """What a plot shows: its root model names and the data of its data sources.

    Model ids, defaults and the document layout change between bokeh versions and runs.
    """
    doc = json.loads(path.read_text())
    sources: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("name") == "ColumnDataSource":
                sources.append(node["attributes"]["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return [root["name"] for root in doc["roots"]], sources


def _same_file(ours: Path, golden: Path) -> None:
    name = golden.name
    if name.endswith(".png"):
        with PILImage.open(ours) as a, PILImage.open(golden) as b:
            assert a.mode == b.mode and a.size == b.size
            assert np.array_equal(np.asarray(a), np.asarray(b))
    elif name.endswith(".wav"):
        (a, rate_a), (b, rate_b) = _wav(ours), _wav(golden)
        assert rate_a == rate_b and a.shape == b.shape
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    elif name.endswith(".gif"):
        assert all(
            np.array_equal(x, y) for x, y in zip(_frames(ours), _frames(golden), strict=True)
        )
    elif name.endswith(".bokeh.json"):
        assert _bokeh(ours) == _bokeh(golden)
    elif name.endswith(".json"):
        assert json.loads(ours.read_text()) == json.loads(golden.read_text())
    else:
        assert ours.read_bytes() == golden.read_bytes()


class _Compare:
    def __init__(self, artifact: cairn.Artifact, case: str) -> None:
        self.entries = artifact.manifest.entries
        self.root = GOLDEN / case
        self.seen: set[str] = set()

    def entry(self, ours_path: str, golden_path: str) -> None:
        """Both paths are entries holding the same content; the path matches if stable."""
        assert ours_path in self.entries, ours_path
        generated = _GENERATED.match(golden_path) or _JOINED.match(golden_path)
        if generated:
            assert ours_path.rsplit(".", 1)[-1] == golden_path.rsplit(".", 1)[-1]
            assert (_GENERATED.match(ours_path) or _JOINED.match(ours_path)) is not None
        else:
            assert ours_path == golden_path
        self.seen.add(golden_path)
        ours_file = Path(str(self.entries[ours_path].local_path))
        golden_file = self.root / golden_path
        if golden_path.endswith(".json") and not golden_path.endswith((".pts.json", ".bokeh.json")):
            self.json(json.loads(ours_file.read_text()), json.loads(golden_file.read_text()))
        else:
            _same_file(ours_file, golden_file)

    def json(self, ours: Any, golden: Any) -> None:
        if isinstance(golden, dict):
            assert isinstance(ours, dict) and set(ours) == set(golden), (ours, golden)
            for key, value in golden.items():
                if (
                    key in ("path", "table1", "table2")
                    and isinstance(value, str)
                    and (value in INDEX["cases"][self.root.name])
                ):
                    self.entry(ours[key], value)
                elif key == "sha256" and _GENERATED.match(str(golden.get("path", ""))):
                    assert re.fullmatch(r"[0-9a-f]{64}", ours[key])
                elif key == "digest" and "path" in golden:
                    assert ours[key] == self.entries[ours["path"]].digest
                else:
                    self.json(ours[key], value)
        elif isinstance(golden, list):
            assert isinstance(ours, list) and len(ours) == len(golden)
            for a, b in zip(ours, golden, strict=True):
                self.json(a, b)
        else:
            assert ours == golden and type(ours) is type(golden), (ours, golden)


@pytest.mark.parametrize("case", CASES)
def test_case_matches_wandb(case: str, inputs: dict[str, Any], cairn_dir: Path) -> None:
    artifact = cairn.Artifact(f"golden-{case.replace('_', '-')}", type="dataset")
    entry = artifact.add(inputs[case], case)
    golden_entries = INDEX["cases"][case]
    assert len(artifact.manifest.entries) == len(golden_entries)
    compare = _Compare(artifact, case)
    top = next(p for p in golden_entries if p.startswith(f"{case}."))
    compare.entry(entry.path, top)
    assert compare.seen == set(golden_entries)


def test_stable_media_have_wandb_digests(inputs: dict[str, Any], cairn_dir: Path) -> None:
    """Files whose bytes do not depend on an encoder get the digests wandb recorded."""
    for case in ("table", "table_types", "classes", "html", "html_inject", "image_path",
                 "video_gif", "object3d_points"):  # fmt: skip
        artifact = cairn.Artifact("stable", type="dataset")
        artifact.add(inputs[case], case)
        ours = {p: e.digest for p, e in artifact.manifest.entries.items()}
        golden = {p: e["digest"] for p, e in INDEX["cases"][case].items()}
        assert ours == golden, case
