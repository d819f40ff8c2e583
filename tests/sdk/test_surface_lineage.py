"""Deletion, TTL defaults and lineage through the SDK (issue 3 §2, §4, §6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import cairn
from cairn.errors import ArtifactNotLoggedError, CommError
from cairn.protocol import Backend
from cairn.sdk.artifact import ArtifactTTL


def _draft(tmp_path: Path, content: str, name: str = "data") -> cairn.Artifact:
    source = tmp_path / f"{name}-{content}.txt"
    source.write_text(content)
    art = cairn.Artifact(name, "dataset")
    art.add_file(str(source), name="f.txt")
    return art


def test_delete_refuses_aliases_unless_asked(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="proj") as run:
        v0 = run.log_artifact(_draft(tmp_path, "a"), aliases=["keep"])
        v1 = run.log_artifact(_draft(tmp_path, "b"))
    with pytest.raises(CommError, match="delete_aliases=True"):
        v0.delete()
    api = cairn.Api()
    assert api.artifact("proj/data:keep").id == v0.id  # nothing changed
    v0.delete(delete_aliases=True)
    assert v0.state == "DELETED"
    assert not api.artifact_exists("proj/data:v0")
    v1.delete(delete_aliases=True)  # it held latest
    assert not api.artifact_exists("proj/data:latest")
    with cairn.init(project="proj") as run:
        v2 = run.log_artifact(_draft(tmp_path, "c"))
        v3 = run.log_artifact(_draft(tmp_path, "d"))
    assert (v2.version, v3.version) == ("v2", "v3")  # deleted indices are never reused
    v3.delete(delete_aliases=True)
    assert api.artifact("proj/data:latest").id == v2.id  # latest moved back


def test_ttl_on_drafts_and_inherited_defaults(backend: Backend, tmp_path: Path) -> None:
    draft = _draft(tmp_path, "a")
    with pytest.raises(ArtifactNotLoggedError):
        _ = draft.ttl
    with pytest.raises(ValueError, match="has to be positive"):
        draft.ttl = timedelta(seconds=0)
    draft.ttl = None
    api = cairn.Api()
    api.set_default_artifact_ttl(timedelta(days=30))
    api.set_default_artifact_ttl(timedelta(days=7), f"{backend.settings.entity}/proj")
    assert api.default_artifact_ttl() == timedelta(days=30)
    assert api.default_artifact_ttl(f"{backend.settings.entity}/proj") == timedelta(days=7)
    with cairn.init(project="proj") as run:
        disabled = run.log_artifact(draft)
        inherited = run.log_artifact(_draft(tmp_path, "b", name="other"))
    with cairn.init(project="elsewhere") as run:
        from_entity = run.log_artifact(_draft(tmp_path, "c"))
    assert disabled.ttl is None
    assert inherited.ttl == timedelta(days=7)
    assert from_entity.ttl == timedelta(days=30)
    inherited.ttl = timedelta(hours=1)
    inherited.save()
    assert api.artifact("proj/other:v0").ttl == timedelta(hours=1)
    inherited.ttl = ArtifactTTL.INHERIT
    with pytest.raises(ArtifactNotLoggedError):
        _ = inherited.ttl  # changed, not saved yet
    inherited.save()
    assert inherited.ttl == timedelta(days=7)
    with pytest.raises(ValueError, match="has to be positive"):
        api.set_default_artifact_ttl(timedelta(0))


def test_lineage_and_history(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="proj", job_type="train") as producer:
        producer.log({"loss": 1.0})
        producer.log({"loss": 0.5})
        logged = producer.log_artifact(_draft(tmp_path, "a"))
        producer.log({"acc": 0.9}, step=5)
        with pytest.warns(UserWarning, match="less than the current step"):
            producer.log({"loss": 9.0}, step=2)
    with cairn.init(project="proj", job_type="eval") as consumer:
        used = consumer.use_artifact("data:latest")
        consumer.link_artifact(used, "wandb-registry-dataset/eval-sets")
    with cairn.init(project="proj", job_type="eval") as other:
        other.use_artifact("wandb-registry-dataset/eval-sets:v0")
    assert logged.history_step == 1
    by = logged.logged_by()
    assert by is not None and by.id == producer.id
    assert [r.id for r in logged.used_by()] == [consumer.id, other.id]
    assert [a.id for a in producer.logged_artifacts()] == [logged.id]
    assert [a.id for a in consumer.used_artifacts()] == [logged.id]
    assert consumer.logged_artifacts() == []
    public = cairn.Api().run(producer.path)
    rows = public.history(pandas=False)
    assert [
        {k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")} for row in rows
    ] == [
        {"_step": 0, "loss": 1.0},
        {"_step": 1, "loss": 0.5},
        {"_step": 5, "acc": 0.9},
    ]
    assert list(public.scan_history(keys=["loss"])) == [
        {"_step": 0, "loss": 1.0},
        {"_step": 1, "loss": 0.5},
    ]
    assert [a.id for a in public.logged_artifacts()] == [logged.id]


def test_new_draft_and_incremental(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="proj") as run:
        v0 = run.log_artifact(_draft(tmp_path, "a"))
        draft = v0.new_draft()
        assert draft.manifest.entries["f.txt"].digest == v0.manifest.entries["f.txt"].digest
        extra = tmp_path / "extra.txt"
        extra.write_text("more")
        draft.add_file(str(extra))
        v1 = run.log_artifact(draft)
        with pytest.warns(UserWarning, match="incremental"):
            inc = cairn.Artifact("data", "dataset", incremental=True)
        other = tmp_path / "third.txt"
        other.write_text("third")
        inc.add_file(str(other))
        v2 = run.log_artifact(inc)
    assert v1.version == "v1" and sorted(v1.manifest.entries) == ["extra.txt", "f.txt"]
    assert sorted(v2.manifest.entries) == ["extra.txt", "f.txt", "third.txt"]
