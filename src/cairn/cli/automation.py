"""``cairn automation add|ls|rm|deliver`` and ``cairn admin webhook add|ls|rm``.

Both work on the configured store through the backend (``Backend.automations()``): the
embedded store (as its owner) or a server (as the key's user, whose rights the server
checks: integrations need an admin of the entity, automations write access to their
scope). Automations send webhooks to an entity's integration when a version is created,
linked, unlinked, aliased or tagged, or a collection tagged (docs/automations.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options, emit
from cairn.errors import NotFoundError, UsageError
from cairn.protocol_automations import EVENT_TYPES, LINK_ARTIFACT

if TYPE_CHECKING:
    from cairn.protocol_automations import AutomationInfo, AutomationsBackend

# Each event by its wire name, and a link also by the name of wandb's Python class.
EVENTS = {**{name: name for name in EVENT_TYPES}, "LINK_ARTIFACT": LINK_ARTIFACT}


def _backend(as_json: bool, quiet: bool) -> tuple[AutomationsBackend, str, str]:
    """The automations of the configured store, its default entity and organization."""
    import cairn  # noqa: F401 (registers the backends)
    from cairn.cli._store import say_store
    from cairn.protocol import open_backend
    from cairn.settings import Settings

    settings = Settings.load()
    say_store(settings, as_json, quiet)
    return open_backend(settings).automations(), settings.entity, settings.organization


def _event(name: str) -> str:
    key = name.strip().upper().replace("-", "_")
    if key not in EVENTS:
        raise UsageError(f"Unknown event {name!r}: expected one of {', '.join(EVENTS)}")
    return EVENTS[key]


def _automation_dict(found: AutomationInfo) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(found)


def _scope(found: AutomationInfo) -> str:
    spec = found.spec
    return f"{spec.entity}/{spec.project}" + (f"/{spec.collection}" if spec.collection else "")


@click.group()
def automation() -> None:
    """Send webhooks when versions are created, linked, aliased or tagged."""


@automation.command("add")
@click.argument("name")
@click.option("--event", "event", required=True, help=f"One of {', '.join(EVENTS)}.")
@click.option("--project", required=True, help="The project watched.")
@click.option("--registry", is_flag=True, help="PROJECT names a registry (wandb-registry-*).")
@click.option("--collection", help="Only this collection of the project.")
@click.option("--entity", help="The project's entity (default: yours).")
@click.option("--webhook", "webhook", help="The webhook integration's name (none: no action).")
@click.option("--webhook-entity", help="Whose integration (default: the scope's entity).")
@click.option("--alias", help="Only events with this alias.")
@click.option("--alias-regex", help="Only events with an alias matching this regex.")
@click.option("--tag", help="Only events with this tag.")
@click.option("--tag-regex", help="Only events with a tag matching this regex.")
@click.option("--payload-file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--description")
@click.option("--disabled", is_flag=True, help="Save it switched off.")
@command_options
def add(
    name: str,
    event: str,
    project: str,
    registry: bool,
    collection: str | None,
    entity: str | None,
    webhook: str | None,
    webhook_entity: str | None,
    alias: str | None,
    alias_regex: str | None,
    tag: str | None,
    tag_regex: str | None,
    payload_file: Path | None,
    description: str | None,
    disabled: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Create the automation NAME."""
    from cairn.protocol_automations import ACTION_NO_OP, ACTION_WEBHOOK, AutomationSpec

    backend, default_entity, organization = _backend(as_json, quiet)
    if registry and not project.startswith("wandb-registry-"):
        project = f"wandb-registry-{project}"
    owner = organization if project.startswith("wandb-registry-") else entity or default_entity
    conditions: list[dict[str, Any]] = []
    for field, exact, regex in (("alias", alias, alias_regex), ("tag", tag, tag_regex)):
        if exact is not None:
            conditions.append({field: {"$eq": exact}})
        if regex is not None:
            conditions.append({field: {"$regex": regex}})
    integration = None
    if webhook is not None:
        hooks = backend.list_webhooks(webhook_entity or owner)
        integration = next((h.id for h in hooks if h.name == webhook), None)
        if integration is None:
            raise NotFoundError(f"webhook {webhook!r} of '{webhook_entity or owner}' not found")
    spec = AutomationSpec(
        name=name,
        event_type=_event(event),
        entity=owner,
        project=project,
        collection=collection,
        action_type=ACTION_NO_OP if integration is None else ACTION_WEBHOOK,
        integration_id=integration,
        payload=payload_file.read_text() if payload_file else None,
        filter={"$or": [{"$and": conditions}]} if conditions else {},
        description=description,
        enabled=not disabled,
    )
    made = backend.create_automation(spec)
    emit(
        as_json,
        _automation_dict(made),
        lambda: click.echo(f"created automation {made.spec.name} ({made.id}) on {_scope(made)}"),
    )


@automation.command("ls")
@click.option("--entity", help="Only automations of this entity's scopes.")
@click.option("--deliveries", "show", type=int, default=0, help="Show the last N deliveries.")
@command_options
def ls(entity: str | None, show: int, as_json: bool, quiet: bool) -> None:
    """List the automations you may see (and their last deliveries)."""
    backend, _entity, _org = _backend(as_json, quiet)
    found = backend.list_automations(entity, None)
    sent = {a.id: backend.list_deliveries(a.id, show) if show else [] for a in found}
    if as_json:
        rows = [{**_automation_dict(a), "deliveries": sent[a.id]} for a in found]
        emit(True, json.loads(json.dumps(rows, default=lambda o: o.__dict__)), lambda: None)
        return
    for item in found:
        spec = item.spec
        hook = item.integration.name if item.integration else "-"
        state = "enabled" if spec.enabled else "disabled"
        click.echo(f"{spec.name}\t{spec.event_type}\t{_scope(item)}\t{hook}\t{state}")
        for delivery in sent[item.id]:
            last = delivery.attempts[-1] if delivery.attempts else None
            answer = "-" if last is None else str(last.status_code or last.error)
            click.echo(
                f"  {delivery.created_at}\t{delivery.event_type}\t{delivery.state}\t"
                f"attempts={len(delivery.attempts)}\t{answer}"
            )


@automation.command("rm")
@click.argument("name")
@click.option("--entity", help="The entity of its scope (default: any you may see).")
@command_options
def rm(name: str, entity: str | None, as_json: bool, quiet: bool) -> None:
    """Delete the automation NAME with its delivery log."""
    backend, _entity, _org = _backend(as_json, quiet)
    found = backend.list_automations(entity, name)
    if not found:
        raise NotFoundError(f"automation {name!r} not found")
    if len(found) > 1:
        raise UsageError(f"several automations are named {name!r}: say which with --entity")
    backend.delete_automation(found[0].id)
    emit(as_json, {"deleted": found[0].id}, lambda: click.echo(f"deleted automation {name}"))


@automation.command("deliver")
@command_options
def deliver(as_json: bool, quiet: bool) -> None:
    """Send every pending webhook now (one that failed, or one a stopped process left)."""
    backend, _entity, _org = _backend(as_json, quiet)
    made = backend.deliver_pending()
    emit(as_json, {"attempts": made}, lambda: click.echo(f"{made} delivery attempt(s) made"))


@click.group()
def webhook() -> None:
    """Webhook integrations of an entity (its admins only)."""


@webhook.command("add")
@click.option("--entity", required=True)
@click.option("--name", required=True)
@click.option("--url", required=True, help="https://... (http only for allowed hosts).")
@click.option(
    "--secret-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A file holding the secret that signs each body (never shown again).",
)
@command_options
def webhook_add(
    entity: str, name: str, url: str, secret_file: Path | None, as_json: bool, quiet: bool
) -> None:
    """Add a webhook integration to ENTITY."""
    import dataclasses

    secret = secret_file.read_text().strip() if secret_file else None
    backend, _entity, _org = _backend(as_json, quiet)
    made = backend.create_webhook(entity, name, url, secret or None)
    emit(
        as_json,
        dataclasses.asdict(made),
        lambda: click.echo(f"added webhook {made.name} ({made.id}) of {entity}"),
    )


@webhook.command("ls")
@click.option("--entity", required=True)
@command_options
def webhook_ls(entity: str, as_json: bool, quiet: bool) -> None:
    """List ENTITY's webhook integrations (never their secrets)."""
    import dataclasses

    backend, _entity, _org = _backend(as_json, quiet)
    found = backend.list_webhooks(entity)

    def human() -> None:
        for h in found:
            click.echo(f"{h.name}\t{h.url}\t{'signed' if h.has_secret else 'unsigned'}")

    emit(as_json, [dataclasses.asdict(h) for h in found], human)


@webhook.command("rm")
@click.option("--entity", required=True)
@click.option("--name", required=True)
@command_options
def webhook_rm(entity: str, name: str, as_json: bool, quiet: bool) -> None:
    """Remove one of ENTITY's webhook integrations (unused by any automation)."""
    backend, _entity, _org = _backend(as_json, quiet)
    backend.delete_webhook(entity, name)
    emit(as_json, {"deleted": name}, lambda: click.echo(f"removed webhook {name} of {entity}"))
