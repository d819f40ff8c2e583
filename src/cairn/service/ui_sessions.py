"""Web UI sessions, kept on the server so that signing out really ends them.

Signing in checks an API key once (``accounts.authenticate``) and opens a session: a
random token whose SHA-256 is stored with the key's public id and an expiry. The cookie
carries the token (signed by the UI); every request maps it back to its row and the key's
user, so signing out (the row is deleted), revoking the key (its rows are deleted) or
expiry ends the session everywhere, including copies of the cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from cairn.db.models import UiSession, utcnow
from cairn.errors import AuthenticationError
from cairn.service.accounts import authenticate, caller_for_key_id, count_request

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store

SESSION_SECONDS = 7 * 24 * 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def open_session(store: Store, api_key: str, seconds: int = SESSION_SECONDS) -> tuple[str, Caller]:
    """Check ``api_key`` and open a session for its user; return the session's token (the
    only copy: it goes into the cookie) and the caller. Expired sessions are dropped.

    Raises: AuthenticationError (malformed, unknown or revoked key).
    """
    caller = authenticate(store, api_key)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.db.write() as session:
        session.execute(delete(UiSession).where(UiSession.expires_at < now))
        session.add(
            UiSession(
                token_hash=_hash(token),
                key_id=caller.key_id,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=seconds),
            )
        )
    return token, caller


def session_caller(store: Store, token: str) -> Caller:
    """The user of the live session ``token`` (a request of its key, when the store
    limits their rate).

    Raises: AuthenticationError (no such session: signed out, expired, or its key
    revoked), RateLimitError (the key sent more requests than its rate).
    """
    with store.db.read() as session:
        row = session.scalars(
            select(UiSession).where(UiSession.token_hash == _hash(token))
        ).one_or_none()
        if row is None or _aware(row.expires_at) <= utcnow():
            raise AuthenticationError("session expired: sign in again")
        key_id = row.key_id
    try:
        caller = caller_for_key_id(store, key_id)
    except AuthenticationError:
        raise AuthenticationError("session expired: sign in again") from None
    count_request(store, key_id)
    return caller


def close_session(store: Store, token: str) -> None:
    """Sign out: the session ``token`` stops working at once (a no-op if it did already)."""
    with store.db.write() as session:
        session.execute(delete(UiSession).where(UiSession.token_hash == _hash(token)))
