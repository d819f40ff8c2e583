"""A version's TTL on the wire and in a store (spec §4.12): the one definition the SDK,
the service and the wandb facade share."""

from __future__ import annotations

import pytest

from cairn.core.ttl import (
    MAX_TTL_SECONDS,
    TTL_DISABLED,
    TTL_INHERIT,
    checked_ttl,
    ttl_of_edit,
    ttl_of_new_version,
    ttl_to_wire,
)


def test_wire_values_are_wandbs() -> None:
    assert (TTL_INHERIT, TTL_DISABLED) == (-1, -2)
    assert ttl_to_wire(None, True) == TTL_INHERIT
    assert ttl_to_wire(None, False) == TTL_DISABLED
    assert ttl_to_wire(0, False) == TTL_DISABLED
    assert ttl_to_wire(3600, False) == 3600


@pytest.mark.parametrize(
    "stored", [(None, True), (None, False), (60, False), (MAX_TTL_SECONDS, False)]
)
def test_what_a_store_answers_is_what_an_edit_stores_back(stored: tuple[int | None, bool]) -> None:
    assert ttl_of_edit(ttl_to_wire(*stored)) == stored
    assert ttl_of_new_version(ttl_to_wire(*stored)) == stored


def test_a_new_version_inherits_unless_told_otherwise() -> None:
    assert ttl_of_new_version(None) == (None, True)
    assert ttl_of_new_version(TTL_INHERIT) == (None, True)
    for disabled in (TTL_DISABLED, 0, -3):  # W&B reads any value <= 0 back as no TTL
        assert ttl_of_new_version(disabled) == (None, False)
    assert ttl_of_new_version(86400) == (86400, False)


def test_an_edit_changes_nothing_unless_told() -> None:
    assert ttl_of_edit(None) is None
    assert ttl_of_edit(TTL_INHERIT) == (None, True)
    assert ttl_of_edit(TTL_DISABLED) == (None, False)
    with pytest.raises(ValueError, match=r"Artifact TTL Duration has to be positive\. ttl: 0"):
        ttl_of_edit(0)


@pytest.mark.parametrize("wire", [MAX_TTL_SECONDS + 1, 2**63])
def test_a_ttl_over_100_years_is_refused_everywhere(wire: int) -> None:
    for read in (ttl_of_new_version, ttl_of_edit, checked_ttl):
        with pytest.raises(ValueError, match="over the maximum"):
            read(wire)


@pytest.mark.parametrize("wire", [1.5, "60", True])
def test_a_ttl_that_is_not_an_integer_is_refused(wire: object) -> None:
    with pytest.raises(ValueError, match="Artifact TTL must be an integer"):
        checked_ttl(wire)
    with pytest.raises(ValueError, match="Artifact TTL must be an integer"):
        ttl_of_new_version(wire)  # type: ignore[arg-type]
