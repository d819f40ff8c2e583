"""Repository helpers and the unique constraints behind them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cairn.db import repositories as repo
from cairn.db.engine import Database, create_db_engine, sqlite_url
from cairn.db.migrate import upgrade_to_head
from cairn.db.models import (
    COLLECTION_SEQUENCE,
    STATE_COMMITTED,
    Alias,
    Entity,
    Membership,
    Organization,
    Version,
    utcnow,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = create_db_engine(sqlite_url(tmp_path / "r.db"))
    upgrade_to_head(engine)
    database = Database(engine)
    yield database
    database.dispose()


def _version(collection_id: int, type_id: int, index: int) -> Version:
    now = utcnow()
    return Version(
        collection_id=collection_id,
        index=index,
        type_id=type_id,
        digest=f"{index:032x}",
        digest_algorithm="MD5",
        manifest_digest="m",
        size=0,
        file_count=0,
        state=STATE_COMMITTED,
        metadata_={},
        ttl_is_inherited=True,
        commit_hash="0" * 12,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def versions(db: Database) -> tuple[int, list[int]]:
    """A collection with versions v0 and v1 (and their memberships): (collection id, ids)."""
    with db.write() as session:
        project = repo.get_or_create_project(session, "local", "ent", "proj")
        type_row = repo.get_or_create_type(session, project.id, "dataset")
        collection = repo.get_or_create_collection(
            session, project.id, type_row.id, "c", COLLECTION_SEQUENCE
        )
        rows = [_version(collection.id, type_row.id, i) for i in range(2)]
        session.add_all(rows)
        session.flush()
        for row in rows:
            session.add(
                Membership(
                    collection_id=collection.id,
                    index=row.index,
                    version_id=row.id,
                    created_at=utcnow(),
                )
            )
        return collection.id, [row.id for row in rows]


def test_get_or_create_project_is_idempotent(db: Database) -> None:
    with db.write() as session:
        first = repo.get_or_create_project(session, "local", "ent", "proj")
    with db.write() as session:
        again = repo.get_or_create_project(session, "local", "ent", "proj")
        other = repo.get_or_create_project(session, "local", "ent", "proj2")
    assert first.id == again.id != other.id
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 1
        assert session.scalar(select(func.count()).select_from(Entity)) == 1
        assert repo.find_project(session, "ent", "proj2") is not None
        assert repo.find_project(session, "ent", "nope") is None


def test_set_aliases_moves_them(db: Database, versions: tuple[int, list[int]]) -> None:
    collection_id, (v0, v1) = versions
    with db.write() as session:
        assert repo.set_aliases(session, collection_id, v0, ["best", "prod"])
    with db.write() as session:
        assert repo.set_aliases(session, collection_id, v1, ["best"])
        assert not repo.set_aliases(session, collection_id, v1, ["best"])
    with db.read() as session:
        assert repo.aliases_by_version(session, collection_id, [v0, v1]) == {
            v0: ["prod"],
            v1: ["best"],
        }
        member = repo.member_by_alias(session, collection_id, "best", [STATE_COMMITTED])
        assert member is not None and member[0] == 1


def test_add_tags_skips_present_ones(db: Database, versions: tuple[int, list[int]]) -> None:
    _collection_id, (v0, _v1) = versions
    with db.write() as session:
        assert repo.add_tags(session, v0, ["a", "b"])
    with db.write() as session:
        assert not repo.add_tags(session, v0, ["b"])
        assert repo.add_tags(session, v0, ["c"])
    with db.read() as session:
        assert repo.tags_by_version(session, [v0]) == {v0: ["a", "b", "c"]}


def test_members_page_and_count(db: Database, versions: tuple[int, list[int]]) -> None:
    collection_id, ids = versions
    with db.read() as session:
        page = repo.members_page(session, collection_id, [STATE_COMMITTED], None, 10)
        assert [(index, v.id) for index, v in page] == [(1, ids[1]), (0, ids[0])]
        assert repo.members_page(session, collection_id, [STATE_COMMITTED], 1, 10)[0][0] == 0
        assert repo.count_members(session, [collection_id, 999], [STATE_COMMITTED]) == {
            collection_id: 2,
            999: 0,
        }


def test_a_version_index_cannot_be_taken_twice(
    db: Database, versions: tuple[int, list[int]]
) -> None:
    collection_id, ids = versions
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(
            Membership(collection_id=collection_id, index=1, version_id=ids[0], created_at=utcnow())
        )
    with pytest.raises(IntegrityError), db.write() as session:
        type_id = session.get_one(Version, ids[0]).type_id
        session.add(_version(collection_id, type_id, 0))


def test_an_alias_cannot_be_held_twice(db: Database, versions: tuple[int, list[int]]) -> None:
    collection_id, ids = versions
    with pytest.raises(IntegrityError), db.write() as session:
        for version_id in ids:
            session.add(
                Alias(
                    collection_id=collection_id,
                    alias="x",
                    version_id=version_id,
                    created_at=utcnow(),
                )
            )
