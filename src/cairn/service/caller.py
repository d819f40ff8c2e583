"""Who a service call acts for: every use case that reads or changes data takes one.

On a server the caller is the user an API key (or a web session) belongs to, and each use
case checks it against the role × action table (``cairn.service.authz``) itself, so no
transport can forget a check. The embedded store has one person, the owner of the
machine's files: ``LOCAL`` may do everything and costs no lookups.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated user (its entity row id and name), the key it used, and whether
    it is a server admin (admin of the organization's entity); ``local`` for ``LOCAL``."""

    user_id: int
    name: str
    key_id: str
    is_admin: bool
    local: bool = False


# The owner of an embedded store (and of a server's command-line tools, which run with the
# database's own credentials): every right, no lookups.
LOCAL = Caller(user_id=0, name="", key_id="", is_admin=True, local=True)
