"""Automations on a server, with a real receiver on 127.0.0.1 (allowed explicitly):
signed deliveries off the request path, who may do what, and a server killed between a
change and its webhook that sends it once it runs again."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from webhook_receiver import Receiver, eventually, receiving

from .conftest import Server, run_server, server_config
from .helpers import log_version, ok, setup_accounts

SECRET = "hush"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def hooked(db_url: str, tmp_path: Path) -> Iterator[Server]:
    config = server_config(
        db_url, tmp_path, webhook_allow=("127.0.0.1",), webhook_backoff_seconds=0.05
    )
    with run_server(config) as running:
        yield running


def _spec(integration: str, **changes: Any) -> dict[str, Any]:
    spec = {
        "name": "on-create",
        "event_type": "CREATE_ARTIFACT",
        "entity": "vision",
        "project": "p",
        "collection": "c",
        "action_type": "GENERIC_WEBHOOK",
        "integration_id": integration,
        "payload": json.dumps({"v": "${artifact_version_string}", "by": "${event_author}"}),
    }
    return {**spec, **changes}


def test_rights_and_a_signed_delivery(hooked: Server, receiver: Receiver) -> None:
    keys = setup_accounts(hooked)
    hook_body = {"name": "ci", "url": receiver.url, "secret": SECRET}
    with (
        hooked.client(hooked.admin_key) as admin,
        hooked.client(keys["alice"]) as alice,
        hooked.client(keys["bob"]) as bob,
        hooked.client(keys["carol"]) as carol,
    ):
        log_version(alice, {"a.txt": b"first"})
        # Integrations: an entity's admins only; never the secret back.
        assert alice.post("/api/v1/entities/vision/webhooks", json=hook_body).status_code == 403
        made = ok(admin.post("/api/v1/entities/vision/webhooks", json=hook_body))
        assert "secret" not in made and made["has_secret"] is True
        listed = ok(alice.get("/api/v1/entities/vision/webhooks"))
        assert [h["name"] for h in listed] == ["ci"] and SECRET not in json.dumps(listed)
        assert carol.get("/api/v1/entities/vision/webhooks").status_code == 404
        refused = {**hook_body, "name": "inside", "url": "http://10.0.0.1/hook"}
        answer = admin.post("/api/v1/entities/vision/webhooks", json=refused)
        assert answer.status_code == 400 and "public" in answer.json()["error"]["message"]
        # Automations: writers of the scope; viewers read them; others see nothing.
        assert bob.post("/api/v1/automations", json=_spec(made["id"])).status_code == 403
        assert carol.post("/api/v1/automations", json=_spec(made["id"])).status_code == 404
        automation = ok(alice.post("/api/v1/automations", json=_spec(made["id"])))
        assert alice.post("/api/v1/automations", json=_spec(made["id"])).status_code == 409
        assert [a["id"] for a in ok(bob.get("/api/v1/automations"))] == [automation["id"]]
        assert ok(carol.get("/api/v1/automations")) == []
        path = f"/api/v1/automations/{automation['id']}"
        assert carol.get(f"{path}/deliveries").status_code == 404
        assert bob.delete(path).status_code == 403
        assert carol.post("/api/v1/automations/deliver").status_code == 403

        log_version(alice, {"a.txt": b"second"})
        got = receiver.wait_for(1)[0]
        assert got.signed_with(SECRET)
        assert got.json == {"v": "vision/p/c:v1", "by": "alice"}
        deliveries = eventually(
            lambda: [d for d in ok(bob.get(f"{path}/deliveries")) if d["state"] == "delivered"]
        )
        assert [a["status_code"] for a in deliveries[0]["attempts"]] == [200]
        assert ok(alice.delete(path)) is None
        assert ok(alice.get("/api/v1/automations")) == []


def test_a_receiver_failing_twice_is_retried_until_it_accepts(
    hooked: Server, receiver: Receiver
) -> None:
    keys = setup_accounts(hooked)
    receiver.statuses = [500, 500]
    hook_body = {"name": "ci", "url": receiver.url, "secret": SECRET}
    with hooked.client(hooked.admin_key) as admin, hooked.client(keys["alice"]) as alice:
        log_version(alice, {"a.txt": b"first"})
        made = ok(admin.post("/api/v1/entities/vision/webhooks", json=hook_body))
        automation = ok(alice.post("/api/v1/automations", json=_spec(made["id"])))
        log_version(alice, {"a.txt": b"second"})
        path = f"/api/v1/automations/{automation['id']}/deliveries"
        (delivered,) = eventually(
            lambda: [d for d in ok(alice.get(path)) if d["state"] == "delivered"]
        )
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 200]
    assert [a["response_head"] for a in delivered["attempts"]] == ["ok", "ok", "ok"]
    got = receiver.wait_for(3)
    assert len({r.headers["idempotency-key"] for r in got}) == 1
    assert all(r.signed_with(SECRET) for r in got)


# ---------------------------------------------------------------- killed and restarted


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class _Proc:
    process: subprocess.Popen[bytes]
    url: str


def _start(root: Path, db: str) -> _Proc:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env["CAIRN_DIR"] = str(home)
    port = _free_port()
    args = [
        *(sys.executable, "-m", "cairn.cli", "server", "--db", db, "--port", str(port)),
        *("--store", str(root / "store"), "--webhook-allow", "127.0.0.1"),
        *("--webhook-timeout", "1", "--webhook-retry", "0.1", "--quiet"),
    ]
    with open(root / "server.log", "ab") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            assert process.poll() is None, (root / "server.log").read_text()
            return False

    eventually(up, timeout=60)
    return _Proc(process, url)


def test_a_server_killed_before_delivering_delivers_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env["CAIRN_DIR"] = str(tmp_path / "home")
    made = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "server", "create-admin", "--db", db, "--name", "root"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["api_key"]
    first = _start(tmp_path, db)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=first.url, headers=headers, timeout=30) as admin:
            ok(admin.post("/api/v1/admin/teams", json={"name": "vision"}))
            log_version(admin, {"a.txt": b"first"})
            hook = {"name": "ci", "url": receiver.url, "secret": SECRET}
            integration = ok(admin.post("/api/v1/entities/vision/webhooks", json=hook))
            automation = ok(admin.post("/api/v1/automations", json=_spec(integration["id"])))
            receiver.hold.clear()  # the receiver keeps the first request waiting
            log_version(admin, {"a.txt": b"second"})
            assert receiver.arrived.wait(30)
        first.process.send_signal(signal.SIGKILL)  # mid-delivery: nothing recorded
        first.process.wait(30)
    finally:
        if first.process.poll() is None:
            first.process.kill()
    receiver.hold.set()
    second = _start(tmp_path, db)
    try:
        with httpx.Client(base_url=second.url, headers=headers, timeout=30) as admin:
            path = f"/api/v1/automations/{automation['id']}/deliveries"
            delivered = eventually(
                lambda: [d for d in ok(admin.get(path)) if d["state"] == "delivered"], timeout=60
            )
        assert len(delivered) == 1
        got = receiver.wait_for(2)
        assert len({r.headers["idempotency-key"] for r in got}) == 1  # the same delivery
        assert all(r.signed_with(SECRET) for r in got)
        assert got[-1].json["v"] == "vision/p/c:v1"
    finally:
        second.process.terminate()
        second.process.wait(30)
