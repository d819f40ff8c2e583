"""Who a signed-in web UI session belongs to.

Signing in to the web UI checks an API key once (``accounts.authenticate``); the session
cookie then names only the key's public id, never its secret. Each request maps that id
back to its user here, so revoking the key ends every session opened with it.
"""

from __future__ import annotations

from sqlalchemy import select

from cairn.db.models import ApiKey, Entity, EntityRole
from cairn.errors import AuthenticationError
from cairn.service.authz import ADMIN, Principal
from cairn.service.store import Store


def principal_for_key_id(store: Store, key_id: str) -> Principal:
    """The user of the live API key whose public id is ``key_id``.

    Raises:
        AuthenticationError: no such key, or it has been revoked.
    """
    with store.db.read() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).one_or_none()
        if row is None or row.revoked_at is not None:
            raise AuthenticationError("session expired: sign in again")
        user = session.get_one(Entity, row.user_id)
        org = session.scalars(select(Entity).where(Entity.name == store.organization)).first()
        role = (
            None
            if org is None
            else session.scalars(
                select(EntityRole.role).where(
                    EntityRole.user_id == user.id, EntityRole.entity_id == org.id
                )
            ).first()
        )
        return Principal(user_id=user.id, name=user.name, key_id=key_id, is_admin=role == ADMIN)
