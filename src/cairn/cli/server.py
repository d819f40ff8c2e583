"""``cairn server``: run the team server, migrate its database, create the first admin.

Defaults are for trying it out: SQLite at ``$CAIRN_DIR/server/cairn.db`` and blobs under
``$CAIRN_DIR/server/blobs``; ``--store s3://bucket/prefix`` keeps blobs in an
S3-compatible bucket instead (docs/server.md). The key that signs transfer URLs is read from
``--secret-file`` (default ``$CAIRN_DIR/server/secret``, created 0600 on first start); all
app processes of one server must share it. No default credentials exist: the first admin
comes from ``create-admin``, which prints its API key once. What one request may cost
(``--max-body``, ``--graphql-max-depth``, ``--graphql-max-cost``, ``--rate-limit``) goes
into the server's ``Limits``; an option not given keeps its default. Expired versions are
deleted in the background every ``--ttl-sweep-interval`` seconds (default an hour).
``/metrics`` is served without a key to the addresses ``--metrics-allow`` names (default
loopback); ``--log-format json`` logs one JSON object per request (docs/server.md
"Monitoring").
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._errors import expected_errors
from cairn.cli._extras import needs_extra
from cairn.service.limits import DEFAULT_LIMITS as DEFAULT
from cairn.service.limits import MIB, Limits

if TYPE_CHECKING:
    from cairn.server.state import ServerConfig


def _server_dir() -> Path:
    from cairn.settings import Settings

    return Settings.load().cairn_dir / "server"


def _db_url(db: str | None) -> str:
    if db:
        return db.replace("postgresql://", "postgresql+psycopg://", 1)
    from cairn.db.engine import sqlite_url

    path = _server_dir()
    path.mkdir(parents=True, exist_ok=True)
    return sqlite_url(path / "cairn.db")


def server_config(db: str | None, store: str | None, secret: bytes, **more: Any) -> ServerConfig:
    """The ``ServerConfig`` of ``--db`` and ``--store`` (a directory, by default the one
    under ``$CAIRN_DIR/server/``, or an ``s3://`` URL with the settings' endpoint and
    region), as ``cairn server`` and its maintenance commands open them; ``more`` sets
    the other fields."""
    from cairn.server.state import ServerConfig
    from cairn.settings import Settings

    settings = Settings.load()
    s3 = store is not None and store.startswith("s3://")
    return ServerConfig(
        db_url=_db_url(db),
        store_dir=Path(store) if store and not s3 else _server_dir() / "blobs",
        store_url=store if s3 else None,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        secret=secret,
        organization=settings.organization,
        **more,
    )


def _secret(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _organization() -> str:
    from cairn.settings import Settings

    return Settings.load().organization


def _size(_ctx: click.Context, param: click.Parameter, value: str) -> int:
    from cairn.settings import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def _positive_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    size = _size(ctx, param, value)
    if size <= 0:
        raise click.BadParameter(f"{value!r}: expected a size above 0", param=param)
    return size


def _rate(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value!r}: expected requests per second above 0", param=param)
    return value


# The default of --ttl-sweep-interval: cairn.service.ttl.SWEEP_INTERVAL_SECONDS (not
# imported here, to keep the CLI's start light).
TTL_SWEEP_INTERVAL = 3600.0


def _interval(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise click.BadParameter(f"{value!r}: expected seconds, 0 or more", param=param)
    return value


# The default of --metrics-allow: cairn.server.metrics_access.DEFAULT_METRICS_ALLOW.
METRICS_ALLOW = ("127.0.0.1", "::1")


def _allow(_ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from cairn.server.metrics_access import parse_allow

    try:
        parse_allow(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    return value


def _limits(
    max_body: int | None,
    graphql_max_depth: int | None,
    graphql_max_cost: int | None,
    rate_limit: float | None,
) -> Limits:
    """The default ``Limits`` with the options given (None: not given)."""
    return dataclasses.replace(
        DEFAULT,
        max_body_bytes=DEFAULT.max_body_bytes if max_body is None else max_body,
        graphql_max_depth=DEFAULT.graphql_max_depth
        if graphql_max_depth is None
        else graphql_max_depth,
        graphql_max_cost=DEFAULT.graphql_max_cost if graphql_max_cost is None else graphql_max_cost,
        rate_limit=DEFAULT.rate_limit if rate_limit is None else rate_limit,
    )


@click.group(invoke_without_command=True)
@click.option("--db", help="Database URL (default: SQLite under $CAIRN_DIR/server/).")
@click.option(
    "--store",
    "store",
    help="Blob directory (default: $CAIRN_DIR/server/blobs), or s3://bucket/prefix "
    "(endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_S3_ENDPOINT_URL).",
)
@click.option(
    "--multipart-threshold",
    callback=_size,
    default="2147483648",
    help="Blobs this large or larger are uploaded in parts (default 2 GiB; units: KB, MB, GB).",
)
@click.option(
    "--part-size",
    callback=_size,
    default="67108864",
    help="Size of the parts of a multipart upload (default 64 MiB; at least 5 MB on S3).",
)
@click.option("--secret-file", type=click.Path(path_type=Path), help="URL-signing key file.")
@click.option("--public-url", help="Base of signed transfer URLs (default: the request's).")
@click.option(
    "--max-body",
    callback=_positive_size,
    metavar="SIZE",
    help="Largest JSON or batch request body "
    f"(default {DEFAULT.max_body_bytes // MIB} MiB; units: KB, MB, GB).",
)
@click.option(
    "--graphql-max-depth",
    type=click.IntRange(min=1),
    help=f"Deepest nesting of a GraphQL query (default {DEFAULT.graphql_max_depth}).",
)
@click.option(
    "--graphql-max-cost",
    type=click.IntRange(min=1),
    help=f"Largest estimated cost of a GraphQL query (default {DEFAULT.graphql_max_cost}).",
)
@click.option(
    "--rate-limit",
    type=float,
    callback=_rate,
    metavar="N",
    help="Requests per second per API key, a burst of as many; over it: 429 (default: off).",
)
@click.option(
    "--ttl-sweep-interval",
    type=float,
    callback=_interval,
    default=TTL_SWEEP_INTERVAL,
    metavar="SECONDS",
    help="How often expired versions (past their TTL) are deleted (default an hour; 0: never).",
)
@click.option(
    "--metrics-allow",
    multiple=True,
    default=METRICS_ALLOW,
    callback=_allow,
    metavar="ADDRESS",
    help="An address, network (CIDR) or host that may read /metrics without a key "
    "(repeatable; default 127.0.0.1 and ::1); others get 403.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line, a line per request (no keys, no signatures).",
)
@click.option(
    "--webhook-allow",
    multiple=True,
    metavar="HOST|CIDR",
    help="A host or network automations' webhooks may reach besides public https "
    "addresses, over http too (repeatable).",
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(min=0.1, max=300),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long one webhook attempt may take.",
)
@click.option(
    "--webhook-retry",
    type=click.FloatRange(min=0.01, max=86400),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Delay before the first webhook retry (doubled after each failure).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8420, show_default=True, type=int)
@click.option("--quiet", "-q", is_flag=True, help="Log warnings and errors only.")
@click.pass_context
@expected_errors
def server(
    ctx: click.Context,
    db: str | None,
    store: str | None,
    secret_file: Path | None,
    multipart_threshold: int,
    part_size: int,
    public_url: str | None,
    max_body: int | None,
    graphql_max_depth: int | None,
    graphql_max_cost: int | None,
    rate_limit: float | None,
    ttl_sweep_interval: float,
    metrics_allow: tuple[str, ...],
    log_format: str,
    webhook_allow: tuple[str, ...],
    webhook_timeout: float,
    webhook_retry: float,
    host: str,
    port: int,
    quiet: bool,
) -> None:
    """Run the Cairn server (migrations are applied on start)."""
    if ctx.invoked_subcommand is not None:
        return
    with needs_extra("cairn server", "server"):
        import uvicorn

        from cairn.server.app import create_app
    config = server_config(
        db,
        store,
        _secret(secret_file or _server_dir() / "secret"),
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        public_url=public_url,
        limits=_limits(max_body, graphql_max_depth, graphql_max_cost, rate_limit),
        ttl_sweep_interval_seconds=ttl_sweep_interval,
        metrics_allow=metrics_allow,
        log_format=log_format,
        webhook_allow=webhook_allow,
        webhook_timeout_seconds=webhook_timeout,
        webhook_backoff_seconds=webhook_retry,
    )
    with needs_extra("cairn server", "server"):  # the database driver loads when it opens
        app = create_app(config)
    level = "warning" if quiet else "info"
    if log_format == "json":
        from cairn.server.logs import uvicorn_log_config

        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=level,
            log_config=uvicorn_log_config(level.upper()),
            access_log=False,
        )
    else:
        from cairn.server.logs import text_log_config

        uvicorn.run(app, host=host, port=port, log_level=level, log_config=text_log_config())


@server.command()
@click.option("--db", help="Database URL (default: SQLite under $CAIRN_DIR/server/).")
@expected_errors
def migrate(db: str | None) -> None:
    """Apply the database migrations (a no-op when it is current)."""
    from cairn.db.engine import create_db_engine
    from cairn.db.migrate import current_revision, upgrade_to_head

    engine = create_db_engine(_db_url(db))
    try:
        upgrade_to_head(engine)
        click.echo(json.dumps({"revision": current_revision(engine)}))
    finally:
        engine.dispose()


@server.command("create-admin")
@click.option("--db", help="Database URL (default: SQLite under $CAIRN_DIR/server/).")
@click.option("--name", required=True, help="The admin's user name.")
@expected_errors
def create_admin(db: str | None, name: str) -> None:
    """Create a server admin and print its API key (shown only this once)."""
    with needs_extra("cairn server create-admin", "server"):
        from cairn.server.state import ServerConfig, ServerState
    from cairn.service.accounts import create_key, create_user
    from cairn.service.caller import LOCAL

    config = ServerConfig(
        db_url=_db_url(db),
        store_dir=_server_dir() / "blobs",
        secret=b"",
        organization=_organization(),
    )
    state = ServerState(config)
    try:
        create_user(state.store, LOCAL, name, admin=True)
        new = create_key(state.store, LOCAL, name, "admin")
        click.echo(json.dumps({"api_key": new.api_key}))
    finally:
        state.close()
