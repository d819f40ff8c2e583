"""The automations page of a project: each automation and its deliveries, escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import cairn
from cairn.protocol import VersionEdit
from cairn.protocol_automations import AutomationSpec
from cairn.server.ui import create_ui_app
from cairn.service.backend import EmbeddedBackend
from cairn.service.resources import open_store
from cairn.settings import Settings
from webhook_receiver import eventually, receiving


def test_a_project_lists_its_automations_and_their_deliveries(
    cairn_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW", "127.0.0.1")
    run = cairn.init(project="proj")
    art = cairn.Artifact("data", "dataset")
    with art.new_file("a.txt") as handle:
        handle.write("1")
    run.log_artifact(art)
    run.finish()
    backend = EmbeddedBackend(Settings.load())
    automations = backend.automations()
    with receiving() as receiver:
        hook = automations.create_webhook("tester", "ci", receiver.url, "s")
        spec = AutomationSpec(
            name="<b>deploy</b>",
            event_type="ADD_ARTIFACT_TAG",
            entity="tester",
            project="proj",
            collection="data",
            action_type="GENERIC_WEBHOOK",
            integration_id=hook.id,
        )
        made = automations.create_automation(spec)
        version = cairn.Api().artifact("proj/data:v0")
        edit = VersionEdit("tester", "proj", "data", None, {}, tags_to_add=["gold"])
        backend.edit_version(version.id, edit)
        receiver.wait_for(1)
        eventually(lambda: automations.list_deliveries(made.id, 5)[0].state == "delivered")
    backend.close()
    store = open_store(Settings.load())
    with TestClient(create_ui_app(store), base_url="http://127.0.0.1:8421") as client:
        html = client.get("/tester/proj/automations").text
        assert "&lt;b&gt;deploy&lt;/b&gt;" in html and "<b>deploy" not in html
        assert "ADD_ARTIFACT_TAG" in html and "delivered" in html
        assert "#1" in html and " 200 " in html
        assert 'href="/tester/proj/automations"' in client.get("/tester/proj").text
        assert client.get("/nobody/proj/automations").status_code == 404
    store.close()
