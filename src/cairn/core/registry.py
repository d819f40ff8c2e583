"""Registry project names (spec §3.7): a registry ``R`` is the project ``wandb-registry-R``.

As in W&B, a registry is a project of the organization's own entity; the same name under
any other entity is no registry at all (and is refused as a place to log, so that it can
never pass for one). Pure, no I/O.
"""

from __future__ import annotations

REGISTRY_PREFIX = "wandb-registry-"
MAX_REGISTRY_NAME = 113  # the longest project name, 128, less the prefix
_FORBIDDEN = set("/\\#?%:\r\n")


def is_registry_project(project: str) -> bool:
    """True for ``wandb-registry-<name>`` (the bare prefix is not a registry, spec §3.7)."""
    return project.startswith(REGISTRY_PREFIX) and len(project) > len(REGISTRY_PREFIX)


def registry_name(project: str) -> str:
    """The registry name of a registry project (``wandb-registry-model`` gives ``model``)."""
    return project[len(REGISTRY_PREFIX) :] if is_registry_project(project) else project


def bare_registry_name(name: str) -> str:
    """A registry's name without the prefix, whether ``name`` has it or not (``model`` and
    ``wandb-registry-model`` both give ``model``)."""
    return name[len(REGISTRY_PREFIX) :] if name.startswith(REGISTRY_PREFIX) else name


def validate_registry_name(name: str) -> str:
    """A registry name, without the prefix if it was given with it, checked against spec
    §3.7.

    Raises:
        ValueError: empty, longer than 113 characters, or containing ``/ \\ # ? % :`` CR LF.
    """
    name = bare_registry_name(name)
    if not name or len(name) > MAX_REGISTRY_NAME:
        raise ValueError(
            f"Invalid registry name {name!r}: it must be 1 to {MAX_REGISTRY_NAME} characters"
        )
    if _FORBIDDEN & set(name):
        raise ValueError(
            f"Invalid registry name {name!r}: it must not contain any of / \\ # ? % : CR LF"
        )
    return name
