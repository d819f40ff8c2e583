"""What a caller may do, asked ahead of time so a page shows only the forms it can use.

These answers only shape what is offered: every use case checks its caller again when it
runs (``cairn.service.authz``), whatever a page showed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.service.authz import READ, WRITE, Gate
from cairn.service.registries import scope

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def may_write(store: Store, caller: Caller, entity: str, project: str) -> bool:
    """Whether the caller may log, edit, alias, tag and link in ``entity/project``."""
    with store.db.read() as session:
        return Gate(session, store, caller).can(WRITE, scope(store, entity, project), project)


def may_read(store: Store, caller: Caller, entity: str, project: str | None = None) -> bool:
    """Whether the caller may read ``entity/project`` (or, without a project, the entity:
    the organization's own entity is readable by every user, as W&B shows every member
    the organization its registries belong to)."""
    if project is None and entity == store.organization:
        return True
    owner = entity if project is None else scope(store, entity, project)
    with store.db.read() as session:
        return Gate(session, store, caller).can(READ, owner, project)
