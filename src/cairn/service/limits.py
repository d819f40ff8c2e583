"""What one request, and one version, may cost: the one set of limits (DESIGN §5).

Every transport applies these numbers and no other: the REST API, the wandb GraphQL
facade, the web UI and, for the limits on what a version holds, the embedded store too
(a behaviour that differs between embedded and server mode is a bug). A server takes
its own values from ``cairn server`` options (docs/server.md); the defaults are safe for
a shared server. A value over its limit is refused with a ``ValueError`` that names the
limit (400 over HTTP), before anything is written.

The numbers a store keeps have ranges of their own, the same everywhere (not options of a
server), checked by the ``checked_*`` functions below before anything is written: a run's
exit code is a signed 32-bit integer, a history step and a size a non-negative signed
64-bit one (``cairn.core.ints``), a TTL at most ``cairn.core.ttl.MAX_TTL_SECONDS``
(``cairn.core.ttl.checked_ttl``, shared with the SDK), and a blob uploaded
to a server at most ``MAX_BLOB_BYTES`` in at most ``MAX_UPLOAD_PARTS`` parts.
"""

from __future__ import annotations

import dataclasses

from cairn.core.ints import INT32_MAX, INT32_MIN, INT64_MAX, check_int
from cairn.core.metadata import MAX_METADATA_BYTES, MAX_METADATA_DEPTH

MIB = 1024 * 1024

MAX_UPLOAD_PARTS = 10_000
"""The most parts one multipart upload has (S3's own limit): a server takes a blob in at
most this many parts of its part size."""

MAX_BLOB_BYTES = 5 * 1024**4
"""The largest blob a server takes: 5 TiB (S3's largest object)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of one store or server.

    - ``max_body_bytes``: a JSON or batch request body (413 over it).
    - ``max_aliases`` / ``max_tags``: aliases and tags one version holds in one
      collection, and that one request may name.
    - ``max_description_bytes``: a version's or collection's description (UTF-8).
    - ``max_metadata_bytes`` / ``max_metadata_depth``: a version's metadata, serialised as
      JSON, and how deeply its objects and lists nest; the same for each of a run's config,
      summary and history rows (``cairn.service.run_fields``).
    - ``max_page``: items in one page of a listing, and in one list argument (file names,
      aliases, tags); a larger page is cut to it, a longer list refused.
    - ``max_blob_list``: blobs one request asks about (which to upload, where to fetch
      them): a version's files go in one request up to this many.
    - ``graphql_max_depth`` / ``graphql_max_cost``: how deeply a GraphQL query nests, and
      its estimated cost (each field counts once per item of every list around it),
      refused before it runs. The defaults let through every operation of the wandb
      0.29-0.31 clients with its pages at ``max_page`` (deepest 11, costliest 187,005:
      ``Api.artifacts`` with ``per_page=1000``; ``tests/server/graphql_ops``) except
      ``Api.list_jobs``, which lists every version of every collection at once.
    - ``rate_limit``: requests per second per API key (a burst of as many), or None for
      no limit; over it a request gets 429 with ``Retry-After``.
    """

    max_body_bytes: int = 64 * MIB
    max_aliases: int = 1000
    max_tags: int = 1000
    max_description_bytes: int = 64 * 1024
    max_metadata_bytes: int = MAX_METADATA_BYTES
    max_metadata_depth: int = MAX_METADATA_DEPTH
    max_page: int = 1000
    max_blob_list: int = 100_000
    graphql_max_depth: int = 15
    graphql_max_cost: int = 200_000
    rate_limit: float | None = None


DEFAULT_LIMITS = Limits()


def checked_exit_code(code: object) -> int:
    """A run's exit code: a signed 32-bit integer. Raises: ValueError."""
    return check_int(code, "exit_code", INT32_MIN, INT32_MAX)


def checked_step(step: object, what: str = "step") -> int:
    """A history step (``what`` names it in the error): 0 to 2^63-1. Raises: ValueError."""
    return check_int(step, what, 0, INT64_MAX)


def checked_size(size: object, what: str = "size") -> int:
    """A size in bytes (``what`` names it in the error): 0 to 2^63-1. Raises: ValueError."""
    return check_int(size, what, 0, INT64_MAX)
