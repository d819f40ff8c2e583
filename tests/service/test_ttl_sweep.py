"""The TTL sweeper (issue 3 §2): expiry, inheritance, registry protection, once an hour."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from sqlalchemy import update

from cairn.core.ttl import MAX_TTL_SECONDS
from cairn.db.models import Project, Version
from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service import facts, ttl
from cairn.service.backend import EmbeddedBackend
from cairn.service.resources import open_store
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
            facts.write(session, facts.TTL_LAST_SWEEP, repr(time.time()))
        EmbeddedBackend(settings).close()  # swept recently: nothing happens
        assert backend.get_version(version.id).state == "COMMITTED"
        with store.db.write() as session:
            facts.write(session, facts.TTL_LAST_SWEEP, repr(time.time() - 7200))
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


def test_a_stored_ttl_too_long_for_a_date_neither_expires_nor_stops_the_store_opening(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    """TTLs are bounded now (``MAX_TTL_SECONDS``), but a store may hold a longer one from
    before: ``created_at + ttl`` past the year 9999 raised OverflowError in the sweep that
    opening the store runs."""
    own = backend.commit_version(make_request({"a": b"1"}, ttl_duration_seconds=60)).version
    inherited = backend.commit_version(make_request({"b": b"2"}, collection="other")).version
    store = open_store(settings)
    try:
        with store.db.write() as session:
            session.execute(update(Version).values(ttl_duration_seconds=2**63 - 1))
            session.execute(update(Project).values(default_ttl_seconds=2**63 - 1))
            facts.write(session, facts.TTL_LAST_SWEEP, repr(time.time() - 7200))
        EmbeddedBackend(settings).close()  # sweeps as it opens
        year_9000 = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
        assert ttl.sweep_expired(store, now=year_9000).deleted == []
        with store.db.write() as session:
            session.execute(update(Version).values(ttl_duration_seconds=400_000_000_000))
        assert ttl.sweep_expired(store).deleted == []
    finally:
        store.close()
    assert backend.get_version(own.id).state == "COMMITTED"
    assert backend.get_version(inherited.id).state == "COMMITTED"


def test_a_ttl_over_the_maximum_is_refused(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    over = MAX_TTL_SECONDS + 1
    with pytest.raises(ValueError, match="over the maximum"):
        backend.commit_version(make_request({"a": b"1"}, ttl_duration_seconds=over))
    with pytest.raises(ValueError, match="over the maximum"):
        backend.set_default_ttl("tester", None, over)
    with pytest.raises(ValueError, match="over the maximum"):
        backend.set_default_ttl("tester", "proj", 2**63)
    kept = backend.commit_version(make_request({"a": b"1"}, ttl_duration_seconds=MAX_TTL_SECONDS))
    assert kept.version.ttl_duration_seconds == MAX_TTL_SECONDS
    _backdate(settings, 100 * 366 * 86400)
    assert ttl.run_sweep(settings).deleted == ["tester/proj/data:v0"]
