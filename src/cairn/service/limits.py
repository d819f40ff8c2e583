"""What one request, and one version, may cost: the one set of limits (DESIGN §5).

Every transport applies these numbers and no other: the REST API, the wandb GraphQL
facade, the web UI and, for the limits on what a version holds, the embedded store too
(a behaviour that differs between embedded and server mode is a bug). A server takes
its own values from ``cairn server`` options (docs/server.md); the defaults are safe for
a shared server. A value over its limit is refused with a ``ValueError`` that names the
limit (400 over HTTP), before anything is written.
"""

from __future__ import annotations

import dataclasses

from cairn.core.metadata import MAX_METADATA_BYTES, MAX_METADATA_DEPTH

MIB = 1024 * 1024


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
