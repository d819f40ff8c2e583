"""Registries and links (issue 3 §3): link, unlink, link properties, Api registry methods."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import cairn
from cairn.errors import CommError
from cairn.protocol import Backend


@pytest.fixture
def prod(backend: Backend) -> str:
    """A registry portfolio of this test's own (servers are shared by the session)."""
    return f"prod-{backend.settings.entity}"


@pytest.fixture
def evals(backend: Backend) -> str:
    """A registry name of this test's own (registries belong to the whole organization)."""
    return f"evals-{backend.settings.entity}"


def _draft(tmp_path: Path, content: str, name: str = "model", type_: str = "model"):
    source = tmp_path / f"{name}-{content}.bin"
    source.write_text(content)
    art = cairn.Artifact(name, type_)
    art.add_file(str(source), name="weights.bin")
    return art


def test_link_into_a_registry(backend: Backend, tmp_path: Path, prod: str) -> None:
    with cairn.init(project="proj") as run:
        v0 = run.log_artifact(_draft(tmp_path, "a"))
        v1 = run.log_artifact(_draft(tmp_path, "b"))
        link1 = run.link_artifact(v1, f"wandb-registry-model/{prod}", aliases=["staging"])
    link0 = v0.link(f"wandb-registry-model/{prod}")
    assert (link1.version, link0.version) == ("v0", "v1")
    assert link1.is_link and not v1.is_link
    assert link1.entity == "local" and link1.project == "wandb-registry-model"
    assert link1.name == f"{prod}:v0" and link1.source_name == "model:v1"
    assert link1.source_entity == backend.settings.entity and link1.source_project == "proj"
    assert link1.source_version == "v1" and link1.version == "v0"
    assert link1.source_qualified_name == f"{backend.settings.entity}/proj/model:v1"
    assert link1.qualified_name == f"local/wandb-registry-model/{prod}:v0"
    assert link1.collection.name == prod and link1.source_collection.name == "model"
    assert link1.source_artifact.id == v1.id and not link1.source_artifact.is_link
    assert link1.linked_artifacts == []
    assert link1.linked_at is not None and v1.linked_at is None
    assert [a.name for a in v1.linked_artifacts] == [f"{prod}:v0"]
    assert "staging" in v1.linked_artifacts[0].aliases
    # latest moves to the most recently linked version.
    api = cairn.Api()
    fetched = api.artifact(f"wandb-registry-model/{prod}:latest")
    assert fetched.is_link and fetched.id == v0.id and fetched.version == "v1"
    assert api.artifact(f"wandb-registry-model/{prod}:v0").id == v1.id
    assert api.artifact(f"wandb-registry-model/{prod}:staging").id == v1.id
    assert "orgs/local/registry/model?selectionPath=" in fetched.url
    # Downloading through a link gives the source's files.
    root = Path(fetched.download())
    assert (root / "weights.bin").read_text() == "a"
    assert root.name == "model:v0"


def test_a_registry_collection_is_named_by_the_organization(
    backend: Backend, tmp_path: Path, prod: str
) -> None:
    with cairn.init(project="proj") as run:
        linked = run.link_artifact(
            run.log_artifact(_draft(tmp_path, "a")), f"wandb-registry-model/{prod}"
        )
    api = cairn.Api()
    # Asked for through the caller's own entity (the default), named by the store.
    collections = api.artifact_collections("wandb-registry-model", "model")
    (listed,) = [c for c in collections if c.name == prod]
    fetched = api.artifact_collection("model", f"wandb-registry-model/{prod}")
    for collection in (listed, fetched):
        assert (collection.entity, collection.project) == (linked.entity, "wandb-registry-model")
    assert linked.entity != backend.settings.entity


def test_unlink_and_delete_of_a_link_remove_only_the_link(
    backend: Backend, tmp_path: Path, prod: str
) -> None:
    with cairn.init(project="proj") as run:
        v0 = run.log_artifact(_draft(tmp_path, "a"))
    link = v0.link(f"wandb-registry-model/{prod}")
    with pytest.raises(ValueError, match="is not a linked artifact"):
        v0.unlink()
    link.unlink()
    api = cairn.Api()
    assert not api.artifact_exists(f"wandb-registry-model/{prod}:v0")
    assert api.artifact("proj/model:v0").id == v0.id
    again = v0.link(f"wandb-registry-model/{prod}")
    assert again.version == "v1"  # indices are never reused
    with pytest.warns(UserWarning, match="only unlinks"):
        again.delete()
    assert api.artifact("proj/model:v0").state == "COMMITTED"
    assert v0.linked_artifacts == []


def test_linking_a_draft_logs_it_first_and_plain_portfolios(
    backend: Backend, tmp_path: Path
) -> None:
    with cairn.init(project="proj"):
        link = _draft(tmp_path, "a").link("proj/best-models", aliases=["champion"])
    assert link.is_link and link.name == "best-models:v0"
    assert link.entity == backend.settings.entity and link.source_name == "model:v0"
    api = cairn.Api()
    assert api.artifact("proj/best-models:champion").id == link.id
    collection = api.artifact_collection("model", "proj/best-models")
    assert not collection.is_sequence()
    with pytest.raises(ValueError, match="not a portfolio"):
        link.source_artifact.link("proj/model")


def test_registries_through_the_api(backend: Backend, tmp_path: Path, evals: str) -> None:
    api = cairn.Api()
    names = [r.name for r in api.registries()]
    assert {"model", "dataset"} <= set(names)
    created = api.create_registry(
        evals, visibility="restricted", description="eval sets", artifact_types=["dataset"]
    )
    assert created.full_name == f"wandb-registry-{evals}" and created.entity == "local"
    with pytest.raises(ValueError, match="already exists"):
        api.create_registry(evals, visibility="organization")
    with pytest.raises(ValueError, match="visibility"):
        api.create_registry("other", visibility="public")
    with cairn.init(project="proj"):
        with pytest.raises(ValueError, match="not allowed in registry"):
            _draft(tmp_path, "m").link(f"wandb-registry-{evals}/sets")
        _draft(tmp_path, "d", name="ds", type_="dataset").link(f"wandb-registry-{evals}/sets")
    registry = api.registry(evals)
    assert [c.name for c in registry.collections()] == ["sets"]
    assert [a.name for a in registry.versions()] == ["sets:v0"]
    assert [r.name for r in api.registries(filter={"name": {"$regex": f"^{evals}$"}})] == [evals]
    registry.description = "renamed"
    registry.artifact_types.append("model")
    registry.save()
    assert api.registry(evals).artifact_types == ["dataset", "model"]
    registry.artifact_types.remove("dataset")
    with pytest.raises(ValueError, match="cannot be removed"):
        registry.save()
    with pytest.raises(CommError):
        api.registry("missing")
    api.registry(evals).delete()
    assert evals not in [r.name for r in api.registries()]


def test_ttl_refused_on_links_and_registry_versions(
    backend: Backend, tmp_path: Path, prod: str
) -> None:
    draft = _draft(tmp_path, "a")
    draft.ttl = timedelta(days=1)
    with cairn.init(project="proj") as run:
        v0 = run.log_artifact(draft)
    assert v0.ttl == timedelta(days=1)
    link = v0.link(f"wandb-registry-model/{prod}")
    with pytest.raises(ValueError, match="Cannot set TTL for link artifact"):
        link.ttl = timedelta(days=2)
    source = cairn.Api().artifact("proj/model:v0")
    assert source.ttl is None  # linking into a registry disabled it
    source.ttl = timedelta(days=2)
    with pytest.raises(ValueError, match="linked to a registry"):
        source.save()
    assert cairn.Api().artifact("proj/model:v0").ttl is None
