"""``Artifact.add`` / ``get`` / ``[]`` with W&B values (issue 4): round trips through the
real embedded store, references to other artifacts, and bad input that changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import cairn
from cairn.errors import ArtifactNotLoggedError
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]
pytestmark = pytest.mark.usefixtures("cairn_dir")  # drafts stage their files there


def _pixels(seed: int = 0) -> np.ndarray:
    return (np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3 + seed).astype(np.uint8)


def _snapshot(artifact: Artifact) -> dict[str, str]:
    return {path: entry.digest for path, entry in artifact.manifest.entries.items()}


def test_table_with_media_round_trips(log: LogFn) -> None:
    table = cairn.Table(columns=["id", "image", "label", "emb"])
    classes = [{"id": 1, "name": "cat"}]
    mask = {"m": {"mask_data": np.zeros((4, 6), dtype=np.uint8), "class_labels": {0: "bg"}}}
    table.add_data(
        1, cairn.Image(_pixels(), caption="one", classes=classes, masks=mask), "a", [0.1, 0.2]
    )
    table.add_data(2, cairn.Image(_pixels(1)), "b", [0.3, 0.4])
    draft = Artifact("tables", "dataset")
    draft["t"] = table
    draft.add(cairn.Html("<p>hi</p>"), "page")
    logged = log(draft)

    got = logged.get("t")
    assert isinstance(got, cairn.Table)
    assert got == table
    assert got.get_column("label") == ["a", "b"]
    assert np.array_equal(np.asarray(got.data[1][1].image), _pixels(1))
    page = logged["page"]
    assert isinstance(page, cairn.Html) and "<p>hi</p>" in page.html
    assert logged.get("missing") is None


def test_every_type_round_trips(log: LogFn, tmp_path: Path) -> None:
    gif = tmp_path / "clip.gif"
    frames = [PILImage.fromarray(np.full((8, 8, 3), 40 * i, dtype=np.uint8)) for i in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    samples = np.sin(np.linspace(0, 8 * np.pi, 800)) * 0.5
    points = np.array([[0, 0, 0], [1, 0, 0.5]], dtype=float)
    values = {
        "audio": cairn.Audio(samples, sample_rate=8000, caption="sine"),
        "video": cairn.Video(str(gif), caption="clip"),
        "points": cairn.Object3D(points),
        "classes": cairn.Classes([{"id": 1, "name": "cat"}]),
        "frames": cairn.Video(np.zeros((2, 3, 8, 8), dtype=np.uint8), fps=2),
    }
    draft = Artifact("all", "dataset")
    for name, value in values.items():
        draft.add(value, name)
    logged = log(draft)
    for name, value in values.items():
        assert logged.get(name) == value, name
    audio = logged.get("audio")
    assert isinstance(audio, cairn.Audio)
    decoded, rate = audio.samples()
    assert rate == 8000 and np.abs(decoded - samples).max() < 1e-4
    points_back = logged.get("points")
    assert isinstance(points_back, cairn.Object3D)
    assert np.array_equal(points_back.points(), points)
    video = logged.get("video")
    assert isinstance(video, cairn.Video)
    assert video.frames().shape == (3, 8, 8, 3)


def test_joined_and_partitioned_tables(log: LogFn) -> None:
    left = cairn.Table(columns=["id", "x"], data=[[1, 1.5], [2, 2.5]])
    right = cairn.Table(columns=["id", "y"], data=[[1, "p"], [2, "q"]])
    draft = Artifact("joins", "dataset")
    draft.add(cairn.JoinedTable(left, right, "id"), "joined")
    draft.add(cairn.Table(columns=["a"], data=[[1], [2]]), "parts/p0")
    draft.add(cairn.Table(columns=["a"], data=[[3]]), "parts/p1")
    draft.add(cairn.PartitionedTable("parts"), "partitioned")
    logged = log(draft)
    joined = logged.get("joined")
    assert isinstance(joined, cairn.JoinedTable)
    assert joined == cairn.JoinedTable(left, right, "id")
    partitioned = logged.get("partitioned")
    assert isinstance(partitioned, cairn.PartitionedTable)
    assert [row for _, row in partitioned.iterrows()] == [[1], [2], [3]]


def test_numpy_and_dataframe_columns(log: LogFn) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    table = cairn.Table(dataframe=frame)
    table.add_column("big", [np.ones((3, 3)), np.zeros((3, 3))])
    draft = Artifact("frames", "dataset")
    draft.add(table, "df")
    assert any(p.startswith("media/serialized_data/") for p in draft.manifest.entries)
    got = log(draft).get("df")
    assert isinstance(got, cairn.Table)
    assert got.get_dataframe()[["a", "b"]].equals(frame)
    assert np.array_equal(
        got.get_column("big", convert_to="numpy"), table.get_column("big", "numpy")
    )


def test_value_from_another_artifact_is_a_reference(log: LogFn) -> None:
    first = Artifact("src", "dataset")
    first.add(cairn.Table(columns=["a"], data=[[1]]), "t")
    first.add(cairn.Image(_pixels()), "img")
    source = log(first)
    table = source.get("t")
    image = source.get("img")
    assert table is not None and image is not None

    second = Artifact("dst", "dataset")
    entry = second.add(table, "copy")
    assert entry.path == "copy.table.json"
    assert entry.ref is not None and entry.ref.startswith("wandb-artifact://")
    assert entry.size == 0 and entry.digest == source.get_entry("t.table.json").digest
    holder = cairn.Table(columns=["img"], data=[[image]])
    second.add(holder, "holder")
    refs = [
        e for e in second.manifest.entries.values() if e.ref and e.path.startswith("media/images")
    ]
    assert len(refs) == 1 and refs[0].ref.startswith("wandb-artifact://")
    logged = log(second)
    assert logged.get("copy") == table
    got = logged.get("holder")
    assert isinstance(got, cairn.Table) and got.data[0][0] == image


def test_same_object_twice_returns_the_first_entry() -> None:
    draft = Artifact("twice", "dataset")
    table = cairn.Table(columns=["a"], data=[[1]])
    first = draft.add(table, "t")
    assert draft.add(table, "other") is first
    assert list(draft.manifest.entries) == ["t.table.json"]


def test_name_clash_without_overwrite_changes_nothing() -> None:
    draft = Artifact("clash", "dataset")
    draft.add(cairn.Table(columns=["a"], data=[[1]]), "t")
    draft.add(cairn.Table(columns=["a"], data=[[1]]), "t")  # same content: accepted
    before = _snapshot(draft)
    with pytest.raises(ValueError, match="Cannot add the same path twice"):
        draft.add(cairn.Table(columns=["img"], data=[[cairn.Image(_pixels())]]), "t")
    assert _snapshot(draft) == before
    draft.add(cairn.Table(columns=["a"], data=[[2]]), "t", overwrite=True)
    assert _snapshot(draft)["t.table.json"] != before["t.table.json"]


def test_bad_input_raises_before_anything_changes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expects 2 columns"):
        cairn.Table(columns=["a", "b"], data=[[1, 2], [3]])
    with pytest.raises(TypeError, match="incompatible types"):
        cairn.Table(columns=["a"], data=[[1], ["x"]])
    with pytest.raises(TypeError, match="incompatible types"):
        cairn.Table(columns=["a"], data=[["x"]], dtype=int, optional=False)
    strings = cairn.Table(columns=["a"], data=[["x"]])
    with pytest.raises(TypeError, match="cannot be cast"):
        strings.cast("a", int)
    with pytest.raises(ValueError, match="file_type must be one of"):
        cairn.Image(_pixels(), file_type="tiff")
    not_image = tmp_path / "fake.png"
    not_image.write_text("not a png")
    with pytest.raises(ValueError, match="Not an image file"):
        cairn.Image(str(not_image))
    with pytest.raises(ValueError, match=r"wandb\.Video accepts"):
        cairn.Video(str(tmp_path / "x.avi"))
    draft = Artifact("bad", "dataset")
    draft.add(cairn.Html("<p>x</p>"), "keep")
    before = _snapshot(draft)
    with pytest.raises(TypeError, match="Found object of type"):
        draft.add({"not": "media"}, "x")  # type: ignore[arg-type]
    obj = tmp_path / "mesh.obj"
    obj.write_text("v 0 0 0\n")
    image_with_boxes = cairn.Image(_pixels())
    image_with_boxes._boxes = {}  # boxes given but no classes: wandb refuses at add time
    with pytest.raises(ValueError, match="Non-point cloud"):
        draft.add(cairn.Object3D(str(obj)), "mesh")
    with pytest.raises(ValueError, match="classes must be passed"):
        draft.add(
            cairn.Table(columns=["i"], data=[[cairn.Image(_pixels(2))], [image_with_boxes]]), "t"
        )
    assert _snapshot(draft) == before


def test_get_needs_a_logged_artifact() -> None:
    with pytest.raises(ArtifactNotLoggedError):
        Artifact("draft", "dataset").get("t")


def test_loading_never_unpickles(log: LogFn, tmp_path: Path) -> None:
    """An ``.npz`` holding a pickled object array is refused, not executed."""
    draft = Artifact("pickle", "dataset")
    draft.add(cairn.Table(columns=["big"], data=[[np.ones((3, 3))]]), "t")
    npz_path = next(p for p in draft.manifest.entries if p.endswith(".npz"))
    evil = tmp_path / "evil.npz"
    np.savez(evil, big=np.array([object(), object()], dtype=object))
    draft.add_file(str(evil), name=npz_path, overwrite=True)
    logged = log(draft)
    with pytest.raises(ValueError, match="allow_pickle"):
        logged.get("t")


def test_json_written_as_wandb_does() -> None:
    draft = Artifact("json", "dataset")
    entry = draft.add(cairn.Classes([{"id": 1, "name": "cat"}]), "c")
    text = Path(str(entry.local_path)).read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True)
    assert not text.endswith("\n")
    tmp_entry = draft.add(cairn.Table(columns=["a"], data=[[1]]), "media/tables/x")
    assert tmp_entry.path.startswith("media/tables/") and len(tmp_entry.path.split("/")[-1]) == 31


def test_media_types_load_lazily() -> None:
    code = (
        "import sys, cairn; heavy = ('PIL', 'numpy', 'pandas', 'cairn.media.table'); "
        "assert not any(m in sys.modules for m in heavy); "
        "cairn.Table; assert 'cairn.media.table' in sys.modules; "
        "assert 'PIL' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_missing_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['PIL'] = None; import cairn\n"
        "try:\n    cairn.Image('x.png')\nexcept ImportError as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'cairn[media]'" in out.stdout


def test_no_warning_for_plain_values() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Artifact("quiet", "dataset").add(cairn.Table(columns=["a"], data=[[1]]), "t")
