"""``cairn.automations`` and ``cairn.Api()``'s automation methods, with wandb's names, on
every backend: an automation made as ``event >> action`` fires (its delivery log says so)
on exactly the changes its scope and filter select; it is listed, edited and deleted."""

from __future__ import annotations

import pytest

import cairn
from cairn.automations import (
    ArtifactEvent,
    DoNothing,
    OnAddArtifactTag,
    OnCreateArtifact,
    OnLinkArtifact,
)
from cairn.protocol import Backend
from sdk.conftest import LogFn


def _fired(api: cairn.Api, automation_id: str) -> list[str]:
    log = api._backend.automations().list_deliveries(automation_id, 50)
    return sorted(d.body for d in log if d.state == "delivered")


def test_automations_with_wandbs_names(backend: Backend, log: LogFn) -> None:
    entity = backend.settings.entity
    first = cairn.Artifact("data", "dataset")
    with first.new_file("n.txt") as handle:
        handle.write("1")
    log(first)
    api = cairn.Api()
    collection = api.artifact_collection("dataset", f"{entity}/proj/data")
    tagged = api.create_automation(
        OnAddArtifactTag(scope=collection, filter=ArtifactEvent.tag.eq("gold")) >> DoNothing(),
        name="gold",
        description="tagged gold",
    )
    created = api.create_automation(
        OnCreateArtifact(scope=api.project("proj", entity=entity)) >> DoNothing(), name="any"
    )
    assert "proj" in [p.name for p in api.projects(entity=entity)]
    with pytest.raises(cairn.errors.CommError, match="not found"):  # nothing to watch yet
        api.create_automation(
            OnLinkArtifact(scope=api.project("models", entity=entity)) >> DoNothing(), name="ln"
        )
    assert sorted(a.name for a in api.automations(entity=entity)) == [
        "any",
        "gold",
    ]
    assert api.automation("gold", entity=entity).description == "tagged gold"
    with pytest.raises(ValueError, match="exists"):
        api.create_automation(OnCreateArtifact(scope=collection) >> DoNothing(), name="gold")
    again = api.create_automation(
        OnCreateArtifact(scope=collection) >> DoNothing(), name="gold", fetch_existing=True
    )
    assert again.id == tagged.id

    second = cairn.Artifact("data", "dataset")
    with second.new_file("n.txt") as handle:
        handle.write("2")
    log(second, tags=["silver"])
    version = api.artifact(f"{entity}/proj/data:v0")
    version.tags = ["gold", "bronze"]
    version.save()

    assert len(_fired(api, created.id)) == 1  # v1 only: v0 came before
    (gold,) = _fired(api, tagged.id)
    assert f'"artifact_version_string": "{entity}/proj/data:v0"' in gold
    assert '"tag": "gold"' in gold

    tagged.enabled = False
    off = api.update_automation(tagged)
    assert off.enabled is False and off.id == tagged.id
    version.tags = ["bronze"]
    version.save()
    version.tags = ["gold"]
    version.save()
    assert len(_fired(api, tagged.id)) == 1  # disabled: nothing more
    assert api.delete_automation(off) is True
    assert [a.name for a in api.automations(entity=entity)] == ["any"]
