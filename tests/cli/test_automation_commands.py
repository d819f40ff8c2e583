"""``cairn admin webhook`` and ``cairn automation`` on the embedded store, as users run
them: the process that made the change sends the webhook; ``cairn automation deliver``
retries what is still pending."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clirun import cairn, ok, ok_json, one_line_error
from webhook_receiver import Receiver, receiving

SECRET = "from-a-file"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def allowed(cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW", "127.0.0.1")
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT", "5")
    return cairn_dir


def test_the_changing_process_delivers_and_deliver_retries(
    allowed: Path, tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("one\n")
    ok("put", str(data), "--project", "proj", "--name", "data")
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    made = ok_json(
        "admin",
        "webhook",
        "add",
        "--entity",
        "tester",
        "--name",
        "ci",
        "--url",
        receiver.url,
        "--secret-file",
        str(secret),
    )
    assert made["has_secret"] is True and "secret" not in made
    listed = ok("admin", "webhook", "ls", "--entity", "tester")
    assert "ci" in listed and SECRET not in listed
    one_line_error(
        cairn(
            "admin",
            "webhook",
            "add",
            "--entity",
            "tester",
            "--name",
            "lan",
            "--url",
            "https://10.1.2.3/hook",
        ),
        "not a public address",
    )
    ok(
        "automation",
        "add",
        "on-prod",
        "--event",
        "ADD_ARTIFACT_ALIAS",
        "--project",
        "proj",
        "--collection",
        "data",
        "--alias",
        "prod",
        "--webhook",
        "ci",
    )

    data.write_text("two\n")
    ok("put", str(data), "--project", "proj", "--name", "data", "--alias", "prod")
    assert receiver.wait_for(1)[0].signed_with(SECRET)
    body = receiver.got[0].json
    assert body["event_type"] == "ADD_ARTIFACT_ALIAS"
    assert body["artifact_version_string"] == "tester/proj/data:v1"
    assert body["alias"] == "prod"

    # A receiver down when the change is made: the next retry is an hour away, so the
    # change's process leaves the delivery pending; `deliver` sends it now.
    receiver.statuses = [503]
    data.write_text("three\n")
    ok(
        "put",
        str(data),
        "--project",
        "proj",
        "--name",
        "data",
        "--alias",
        "prod",
        env={"CAIRN_WEBHOOK_BACKOFF": "3600"},
    )
    receiver.wait_for(2)
    assert ok_json("automation", "deliver") == {"attempts": 1}
    assert receiver.wait_for(3)[2].json["artifact_version_string"] == "tester/proj/data:v2"
    assert ok_json("automation", "deliver") == {"attempts": 0}
    (found,) = ok_json("automation", "ls", "--deliveries", "5")
    assert found["spec"]["name"] == "on-prod"
    states = [(d["state"], [a["status_code"] for a in d["attempts"]]) for d in found["deliveries"]]
    assert states == [("delivered", [503, 200]), ("delivered", [200])]

    one_line_error(
        cairn("admin", "webhook", "rm", "--entity", "tester", "--name", "ci"), "used by automation"
    )
    ok("automation", "rm", "on-prod")
    assert ok_json("automation", "ls") == []
    ok("admin", "webhook", "rm", "--entity", "tester", "--name", "ci")
    assert ok_json("admin", "webhook", "ls", "--entity", "tester") == []
