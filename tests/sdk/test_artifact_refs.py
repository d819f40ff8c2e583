"""References to entries of other artifacts: ``wandb-artifact://`` and ``get_entry`` (spec §5.6)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import b64_to_hex
from cairn.errors import MissingReferenceError
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]


def test_reference_to_another_artifacts_entry(cairn_dir: Path, tmp_path: Path, log: LogFn) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello\n")
    source = Artifact("source", "dataset")
    source.add_file(str(tmp_path / "a.txt"), name="dir/a.txt")
    log(source)
    entry = source.get_entry("dir/a.txt")
    middle = Artifact("middle", "dataset")
    [ref] = middle.add_reference(entry)
    hex_id = b64_to_hex(source.id or "")
    assert ref.path == "a.txt"
    assert ref.to_json() == {
        "digest": "sZRqySSS0jR8YjW00mERhA==",
        "ref": f"wandb-artifact://{hex_id}/dir/a.txt",
        "size": 0,
    }
    log(middle)
    # a reference to a reference is followed to the artifact that holds the bytes
    last = Artifact("last", "dataset")
    [chained] = last.add_reference(middle.get_entry("a.txt").ref_url(), name="c.txt")
    assert chained.ref == f"wandb-artifact://{hex_id}/dir/a.txt"
    log(last)
    root = Path(last.download(tmp_path / "out"))
    assert (root / "c.txt").read_bytes() == b"hello\n"
    assert (Path(middle.download(tmp_path / "mid")) / "a.txt").read_bytes() == b"hello\n"


def test_bad_artifact_references(cairn_dir: Path, tmp_path: Path, log: LogFn) -> None:
    (tmp_path / "a.txt").write_bytes(b"x")
    source = Artifact("source", "dataset")
    source.add_file(str(tmp_path / "a.txt"))
    log(source)
    hex_id = b64_to_hex(source.id or "")
    art = Artifact("x", "dataset")
    with pytest.raises(MissingReferenceError, match="Path not contained in artifact"):
        art.add_reference(f"wandb-artifact://{hex_id}/nope.txt")
    unknown = b64_to_hex("QXJ0aWZhY3Q6OTk5OTk=")  # Artifact:99999
    with pytest.raises(MissingReferenceError, match="Unable to find the artifact"):
        art.add_reference(f"wandb-artifact://{unknown}/a.txt")
    with pytest.raises(ValueError, match="bad artifact id"):
        art.add_reference("wandb-artifact://zz/a.txt")
    assert art.manifest.entries == {}
