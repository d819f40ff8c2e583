"""An automation made with the official client's ``wandb.Api().create_automation(
OnLinkArtifact(scope=...) >> SendWebhook.from_integration(...))`` against ``cairn
server`` fires, signed, on a link the official client makes (and not on one its filter
leaves out)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from compat.test_flows import plain_user, run_wandb
from compat.wandb_tools import NEWEST, wandb_env
from serverproc import ServerProcess, running_server
from webhook_receiver import Receiver, receiving

SECRET = "deploy-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def hooked_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose webhooks may reach 127.0.0.1 (and nothing else that is not public)."""
    args = ["--webhook-allow", "127.0.0.1", "--webhook-retry", "0.1"]
    with running_server(tmp_path / "srv", f"sqlite:///{tmp_path}/cairn.db", args=args) as server:
        yield server


@pytest.mark.slow
def test_an_automation_of_the_official_client_fires_on_its_link(
    wandb_pythons: dict[str, Path], hooked_server: ServerProcess, receiver: Receiver, tmp_path: Path
) -> None:
    server = hooked_server
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as admin:
        organization = admin.get("/whoami").json()["organization"]
        key = plain_user(server, "automator")
        body = {"name": "deploy", "url": receiver.url, "secret": SECRET}
        made = admin.post(f"/entities/{organization}/webhooks", json=body)
        assert made.status_code == 200, made.text
    env = wandb_env(server, tmp_path / "home", key)
    out = run_wandb(
        wandb_pythons[NEWEST], "automations.py", env, str(tmp_path / "work"), "auto", organization
    )
    assert out["created"] == "deploy-on-link"
    assert out["scope"] == "wandb-registry-model"
    assert out["event"] == "LINK_MODEL"
    assert out["listed"] == ["deploy-on-link"]
    assert (out["description"], out["enabled"]) == ("edited", True)

    got = receiver.wait_for(1)
    assert got[0].signed_with(SECRET)
    assert got[0].json == {
        "event": "LINK_MODEL",
        "author": "automator",
        "version": f"{organization}/wandb-registry-model/clf:v1",
        "collection": "clf",
    }
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as admin:
        automation = admin.get("/automations", params={"name": "deploy-on-link"}).json()[0]
        sent = admin.get(f"/automations/{automation['id']}/deliveries").json()
    assert len(sent) == 1  # the link with "staging" did not fire
    assert [a["status_code"] for a in sent[0]["attempts"]] == [200]
