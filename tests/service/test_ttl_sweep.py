"""The TTL sweeper (issue 3 §2): expiry, inheritance, registry protection, once an hour."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from sqlalchemy import update

from cairn.db.models import Version
from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service import store_state, ttl
from cairn.service.backend import EmbeddedBackend
from cairn.service.store import open_store
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


def _backdate(settings: Settings, seconds: float) -> None:
    """Make every version look ``seconds`` older."""
    store = open_store(settings)
    try:
        with store.db.write() as session:
            moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
            session.execute(update(Version).values(created_at=moment))
    finally:
        store.close()


def test_sweep_deletes_expired_versions_only(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    short = backend.commit_version(
        make_request({"a": b"1"}, collection="short", ttl_duration_seconds=60)
    ).version
    backend.commit_version(make_request({"b": b"2"}, collection="forever"))
    linked = backend.commit_version(
        make_request({"c": b"3"}, collection="linked", ttl_duration_seconds=60)
    ).version
    backend.link_version(linked.id, "tester", "wandb-registry-model", "prod", [])
    backend.set_default_ttl("tester", "proj", 120)
    store = open_store(settings)
    try:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
        assert ttl.sweep_expired(store, now=later).deleted == ["tester/proj/short:v0"]
        much_later = later + dt.timedelta(seconds=60)
        assert ttl.sweep_expired(store, now=much_later).deleted == ["tester/proj/forever:v0"]
    finally:
        store.close()
    with pytest.raises(CommError):
        backend.resolve_version("tester", "proj", "short", "latest")
    assert backend.resolve_version("tester", "proj", "linked", "v0").id == linked.id
    assert backend.get_version(short.id).state == "DELETED"


def test_sweep_runs_when_the_store_opens_at_most_hourly(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    version = backend.commit_version(make_request({"a": b"1"}, ttl_duration_seconds=60)).version
    _backdate(settings, 120)
    store = open_store(settings)
    try:
        with store.db.write() as session:
            store_state.write(session, store_state.TTL_LAST_SWEEP, repr(time.time()))
        EmbeddedBackend(settings).close()  # swept recently: nothing happens
        assert backend.get_version(version.id).state == "COMMITTED"
        with store.db.write() as session:
            store_state.write(session, store_state.TTL_LAST_SWEEP, repr(time.time() - 7200))
        EmbeddedBackend(settings).close()
        assert backend.get_version(version.id).state == "DELETED"
    finally:
        store.close()


def test_sweep_by_hand(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.commit_version(make_request({"a": b"1"}, ttl_duration_seconds=60))
    _backdate(settings, 120)
    assert ttl.run_sweep(settings).deleted == ["tester/proj/data:v0"]
    assert ttl.run_sweep(settings).deleted == []
