"""Automations in the embedded store, with a real receiver on 127.0.0.1: each event type
fires exactly the deliveries its filter selects, signed and with its template filled;
retries keep every attempt; refused addresses are never contacted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.protocol import VersionEdit
from cairn.protocol_automations import AutomationSpec
from cairn.service import webhook_targets
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings
from service.conftest import MakeRequest
from webhook_receiver import Receiver, eventually, receiving

SECRET = "s3cret"
TEMPLATE = json.dumps(
    {
        "event": "${event_type}",
        "by": "${event_author}",
        "version": "${artifact_version_string}",
        "id": "${artifact_version}",
        "collection": "${artifact_collection_name}",
        "where": "${entity_name}/${project_name}",
        "alias": "${alias}",
        "tag": "${tag}",
    }
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def settings(cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW", "127.0.0.1")
    monkeypatch.setenv("CAIRN_WEBHOOK_BACKOFF", "0.05")
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT", "5")
    return Settings.load()


def _hook(backend: EmbeddedBackend, receiver: Receiver, name: str = "ci") -> str:
    return backend.automations().create_webhook("tester", name, receiver.url, SECRET).id


def _on(
    backend: EmbeddedBackend,
    hook: str,
    event: str,
    name: str,
    collection: str | None = "data",
    project: str = "proj",
    filter: dict[str, object] | None = None,
) -> str:
    spec = AutomationSpec(
        name=name,
        event_type=event,
        entity="tester",
        project=project,
        collection=collection,
        action_type="GENERIC_WEBHOOK",
        integration_id=hook,
        payload=TEMPLATE,
        filter=filter or {},
    )
    return backend.automations().create_automation(spec).id


def _alias(value: str) -> dict[str, object]:
    return {"$or": [{"$and": [{"alias": {"$eq": value}}]}]}


def _tag(value: str) -> dict[str, object]:
    return {"$or": [{"$and": [{"tag": {"$eq": value}}]}]}


def test_each_event_fires_what_its_filter_selects(
    backend: EmbeddedBackend, make_request: MakeRequest, receiver: Receiver
) -> None:
    first = backend.commit_version(make_request({"a.txt": b"first"})).version  # no automation yet
    backend.link_version(first.id, "tester", "models", "best", [])
    hook = _hook(backend, receiver)
    _on(backend, hook, "CREATE_ARTIFACT", "created")
    _on(backend, hook, "ADD_ARTIFACT_ALIAS", "prod-alias", filter=_alias("prod"))
    _on(
        backend,
        hook,
        "ADD_ARTIFACT_TAG",
        "gold-tag",
        project="proj",
        collection=None,
        filter=_tag("gold"),
    )
    _on(backend, hook, "REMOVE_ARTIFACT_TAG", "untag", filter=_tag("gold"))
    _on(
        backend,
        hook,
        "LINK_MODEL",
        "linked",
        collection=None,
        project="models",
        filter=_alias("staging"),
    )
    _on(backend, hook, "UNLINK_ARTIFACT", "unlinked", collection="best", project="models")
    _on(backend, hook, "ADD_COLLECTION_TAG", "ctag", filter=_tag("curated"))
    _on(backend, hook, "REMOVE_COLLECTION_TAG", "ctag-gone")
    _on(backend, hook, "CREATE_ARTIFACT", "other", collection="best", project="models")  # never

    second = backend.commit_version(make_request({"a.txt": b"second"}, aliases=["dev"])).version
    edit = VersionEdit("tester", "proj", "data", None, {}, aliases_to_add=["prod"])
    backend.edit_version(first.id, edit)
    backend.edit_version(first.id, VersionEdit("tester", "proj", "data", None, {}, ["qa"]))
    backend.edit_version(
        second.id, VersionEdit("tester", "proj", "data", None, {}, tags_to_add=["gold", "x"])
    )
    backend.edit_version(
        second.id, VersionEdit("tester", "proj", "data", None, {}, tags_to_remove=["gold"])
    )
    backend.link_version(second.id, "tester", "models", "best", ["staging"])
    third = backend.commit_version(make_request({"a.txt": b"third"})).version
    backend.link_version(third.id, "tester", "models", "best", ["other"])  # filtered out
    backend.unlink_version(third.id, "tester", "models", "best")
    backend.edit_collection("tester", "proj", "data", None, ["curated", "misc"])
    backend.edit_collection("tester", "proj", "data", None, [])

    expected = [
        ("CREATE_ARTIFACT", "data", "v1", "dev", ""),
        ("CREATE_ARTIFACT", "data", "v2", "", ""),
        ("ADD_ARTIFACT_ALIAS", "data", "v0", "prod", ""),
        ("ADD_ARTIFACT_TAG", "data", "v1", "", "gold"),
        ("REMOVE_ARTIFACT_TAG", "data", "v1", "", "gold"),
        ("LINK_MODEL", "best", "v1", "staging", ""),
        ("UNLINK_ARTIFACT", "best", "v2", "", ""),
        ("ADD_COLLECTION_TAG", "data", "", "", "curated"),
        ("REMOVE_COLLECTION_TAG", "data", "", "", "curated"),
        ("REMOVE_COLLECTION_TAG", "data", "", "", "misc"),
    ]
    got = receiver.wait_for(len(expected))
    eventually(lambda: backend.automations().deliver_pending() == 0)
    assert len(receiver.got) == len(expected)
    seen = []
    for request in got:
        assert request.signed_with(SECRET)
        assert request.headers["x-cairn-timestamp"].isdigit()
        assert request.headers["idempotency-key"]
        body = request.json
        assert body["event"] == request.headers["x-cairn-event"]
        assert body["by"] == "local"
        assert body["collection"] in body["version"] or not body["version"]
        version = body["version"].rpartition(":")[2]
        seen.append((body["event"], body["collection"], version, body["alias"], body["tag"]))
    assert sorted(seen) == sorted(expected)
    link = next(r.json for r in got if r.json["event"] == "LINK_MODEL")
    assert link["version"] == "tester/models/best:v1"
    assert link["where"] == "tester/models"


def test_a_receiver_failing_twice_gets_three_attempts_and_one_success(
    backend: EmbeddedBackend, make_request: MakeRequest, receiver: Receiver
) -> None:
    backend.commit_version(make_request({"a.txt": b"before"}))
    receiver.statuses = [500, 500]
    hook = _hook(backend, receiver)
    automation = _on(backend, hook, "CREATE_ARTIFACT", "created")
    backend.commit_version(make_request({"a.txt": b"x"}))
    receiver.wait_for(3)
    automations = backend.automations()
    delivered = eventually(
        lambda: [d for d in automations.list_deliveries(automation, 10) if d.state == "delivered"]
    )
    assert len(delivered) == 1
    attempts = delivered[0].attempts
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert [a.number for a in attempts] == [1, 2, 3]
    assert attempts[-1].response_head == "ok"
    assert len({r.headers["idempotency-key"] for r in receiver.got}) == 1


def test_an_address_the_policy_refuses_is_never_contacted(
    backend: EmbeddedBackend,
    make_request: MakeRequest,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend.commit_version(make_request({"a.txt": b"before"}))
    with receiving("127.0.0.2") as listener:
        automations = backend.automations()
        with pytest.raises(ValueError, match="not a public address"):
            automations.create_webhook("tester", "direct", listener.url, None)
        # A name that resolved to a public address when saved, and to the listener later.
        port = listener.url.split(":")[2].split("/")[0]
        answers = iter([["93.184.216.34"]])
        monkeypatch.setattr(
            webhook_targets,
            "resolve",
            lambda host, _port: next(answers, ["127.0.0.2"]) if host == "rebind.test" else [host],
        )
        hook = automations.create_webhook("tester", "rebind", f"https://rebind.test:{port}/", None)
        automation = _on(backend, hook.id, "CREATE_ARTIFACT", "rebound")
        # A redirect from an allowed receiver to the listener is not followed either.
        receiver.redirect_to = listener.url
        redirected = _on(backend, _hook(backend, receiver), "CREATE_ARTIFACT", "redirected")
        backend.commit_version(make_request({"a.txt": b"x"}))
        receiver.wait_for(1)
        attempt = eventually(lambda: automations.list_deliveries(automation, 10)[0].attempts)[0]
        assert attempt.status_code is None
        assert "127.0.0.2" in (attempt.error or "")
        followed = eventually(lambda: automations.list_deliveries(redirected, 10)[0].attempts)
        assert followed[0].status_code == 302
        assert listener.connections == 0
        assert not listener.got


def test_a_url_must_be_https_and_public_without_the_allow_list(
    cairn_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_targets, "resolve", lambda _host, _port: ["93.184.216.34"])
    policy = webhook_targets.WebhookPolicy()
    webhook_targets.check_url("https://hooks.example.com/x", policy)
    with pytest.raises(ValueError, match="only https"):
        webhook_targets.check_url("http://hooks.example.com/x", policy)
    for address in ("10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "0.0.0.0"):
        monkeypatch.setattr(webhook_targets, "resolve", lambda _h, _p, a=address: [a])
        with pytest.raises(ValueError, match="not a public address"):
            webhook_targets.check_url("https://hooks.example.com/x", policy)
    allowed = webhook_targets.WebhookPolicy(allow=("10.0.0.0/8",))
    monkeypatch.setattr(webhook_targets, "resolve", lambda _h, _p: ["10.1.2.3"])
    assert webhook_targets.check_url("http://svc.internal/x", allowed).address == "10.1.2.3"
