"""Registry project names (spec §3.7): a registry ``R`` is the project ``wandb-registry-R``.

As in W&B, a registry is a project of the organization's own entity; the same name under
any other entity is no registry at all (and is refused as a place to log, so that it can
never pass for one). Pure, no I/O.
"""

from __future__ import annotations

REGISTRY_PREFIX = "wandb-registry-"


def is_registry_project(project: str) -> bool:
    """True for ``wandb-registry-<name>`` (the bare prefix is not a registry, spec §3.7)."""
    return project.startswith(REGISTRY_PREFIX) and len(project) > len(REGISTRY_PREFIX)


def registry_name(project: str) -> str:
    """The registry name of a registry project (``wandb-registry-model`` gives ``model``)."""
    return project[len(REGISTRY_PREFIX) :] if is_registry_project(project) else project
