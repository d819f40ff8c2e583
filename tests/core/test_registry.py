"""Registry names (spec §3.7): the one prefix and the one name rule, in ``cairn.core``."""

from __future__ import annotations

import pytest

from cairn.core.registry import (
    REGISTRY_PREFIX,
    bare_registry_name,
    is_registry_project,
    registry_name,
    validate_registry_name,
)


def test_a_registry_is_the_project_of_its_prefixed_name() -> None:
    assert REGISTRY_PREFIX == "wandb-registry-"
    assert is_registry_project("wandb-registry-model")
    assert not is_registry_project(REGISTRY_PREFIX) and not is_registry_project("model")
    assert registry_name("wandb-registry-model") == "model"
    assert registry_name("model") == "model"
    assert bare_registry_name("wandb-registry-model") == bare_registry_name("model") == "model"


def test_registry_names_are_checked_with_or_without_the_prefix() -> None:
    assert validate_registry_name("wandb-registry-model") == "model"
    assert validate_registry_name("m" * 113) == "m" * 113  # 128 with the prefix
    for bad in ("", REGISTRY_PREFIX, "m" * 114):
        with pytest.raises(ValueError, match="it must be 1 to 113 characters"):
            validate_registry_name(bad)
    for bad in ("a/b", "a:b", "a#b", "a\nb"):
        with pytest.raises(ValueError, match="it must not contain any of"):
            validate_registry_name(bad)
