"""The root fields of the facade's schema: each calls the service use case of its verb
for the request's caller (which checks what the caller may do) and answers with ``views``
objects. ``serverInfo.features`` advertises exactly the optional features the facade
implements (``FEATURES``); the client sends its plainest documents for the others.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from ariadne import InterfaceType, MutationType, QueryType

from cairn.core.metadata import loads_json
from cairn.errors import CommError
from cairn.protocol import VersionEdit
from cairn.server.wandb_compat import (
    automations,
    collection_edits,
    graphql_objects,
    run_lists,
    writes,
)
from cairn.server.wandb_compat.context import Info, ctx, gid, obj, or_none
from cairn.server.wandb_compat.run_fields import WANDB_KEY
from cairn.server.wandb_compat.transfers import PREFIX, q, sign_path
from cairn.service import deletion, drafts, edits, fields, links, rewind, runs, versions
from cairn.service.fields import bounded
from cairn.service.registries import scope

log = logging.getLogger("cairn.server.wandb_compat")
query = QueryType()
mutation = MutationType()
collection = InterfaceType("ArtifactCollection")


@collection.type_resolver
def _collection_type(value: dict[str, Any], *_: Any) -> str:
    return str(value["__typename"])


@query.field("viewer")
def viewer(_obj: Any, info: Info) -> dict[str, Any]:
    c = ctx(info)
    name = c.caller.name
    return obj(
        "User",
        id=gid("User", name),
        name=name,
        entity=name,
        username=name,
        email=None,
        admin=c.caller.is_admin,
        flags="{}",
        teams={"edges": []},
        organizations=[graphql_objects.org_obj(c)],
    )


# The client's ``ServerFeature`` names this server implements (any other is off).
FEATURES = (
    # /artifactsV2/... downloads name the version read, not only the one a file was born in
    "ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID",
    # api.registries() / api.registry(): the organization entity's projects (registries)
    "ARTIFACT_REGISTRY_SEARCH",
    # wandb.automations (wandb_compat/automations.py): Entity.triggers, the artifact events
    # beyond the ungated ones, and the no-op action
    "QUERY_AUTOMATIONS_ON_ENTITY",
    "AUTOMATION_EVENT_ADD_ARTIFACT_TAG",
    "AUTOMATION_EVENT_REMOVE_ARTIFACT_TAG",
    "AUTOMATION_EVENT_ADD_COLLECTION_TAG",
    "AUTOMATION_EVENT_REMOVE_COLLECTION_TAG",
    "AUTOMATION_EVENT_UNLINK_ARTIFACT",
    "AUTOMATION_ACTION_NO_OP",
)


@query.field("serverInfo")
def server_info(_obj: Any, _info: Info) -> dict[str, Any]:
    features = [{"name": name, "isEnabled": True} for name in FEATURES]
    return {"features": features, "cliVersionInfo": None, "latestLocalVersionInfo": None}


@query.field("entity")
def entity(_obj: Any, info: Info, name: str | None = None) -> dict[str, Any] | None:
    c = ctx(info)
    return graphql_objects.entity_obj(c, name or c.caller.name)


@query.field("organization")
def organization(_obj: Any, info: Info, name: str | None = None) -> Any:
    c = ctx(info)
    return graphql_objects.org_obj(c) if name in (None, c.store.organization) else None


@query.field("project")
@query.field("model")
def project(
    _obj: Any,
    info: Info,
    name: str | None = None,
    entityName: str | None = None,
) -> Any:
    return graphql_objects.readable_project(ctx(info), entityName, name)


def version_id(info: Info, artifact_id: str) -> str:
    """The version an artifact id names: a version id, or a committed draft's.

    Raises: CommError (a draft not committed yet, unknown, or not the caller's to read).
    """
    c = ctx(info)
    return drafts.version_id(c.store, c.caller, artifact_id)


@query.field("artifact")
def artifact(_obj: Any, info: Info, id: str | None = None) -> Any:
    c = ctx(info)
    found = or_none(lambda: versions.get_version(c.store, c.caller, version_id(info, id or "")))
    return None if found is None else graphql_objects.artifact_obj(c, found)


@query.field("artifactCollection")
def artifact_collection(_obj: Any, info: Info, id: str | None = None) -> Any:
    found = graphql_objects.collection_by_id(ctx(info), id or "")
    return None if found is None else graphql_objects.info_obj(ctx(info), found)


@query.field("models")
def models(_obj: Any, info: Info, **kw: Any) -> Any:
    return run_lists.projects(ctx(info), graphql_objects.project_obj)(info, **kw)


@query.field("clientIDMapping")
def client_id_mapping(_obj: Any, _info: Info, clientID: str | None = None) -> Any:
    return None


@mutation.field("upsertBucket")
def upsert_bucket(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    entity_name = input.get("entityName") or c.caller.name
    project_name = input.get("modelName") or "uncategorized"
    run_id = input.get("name") or _run_from_id(input.get("id"))
    config = _config(input.get("config"), c.state.config.limits.max_metadata_depth)
    run = runs.create_run(
        c.store,
        c.caller,
        entity_name,
        project_name,
        run_id,
        input.get("displayName"),
        input.get("jobType"),
        config,
        input.get("groupName"),
    )
    return {"bucket": graphql_objects.run_obj(c, run), "inserted": True}


def _run_from_id(value: str | None) -> str:

    try:
        return base64.b64decode(value or "").decode().rsplit("/", 1)[-1]
    except ValueError:
        return value or ""


def _config(raw: str | None, max_depth: int) -> dict[str, Any]:
    """The run config W&B-style (``{key: {value, desc}}``) as plain values. Of the client's
    own ``_wandb`` entry only its telemetry (``t``) is kept: a resuming client asks for it
    (``wandbConfig(keys: ["t"])``) to tell a run it started from one never initialized.

    Raises: ValueError (not JSON, or nested deeper than ``max_depth``).
    """
    if not raw:
        return {}
    data = loads_json(raw, max_depth, "Run config")
    if not isinstance(data, dict):
        return {}
    plain = {
        k: v.get("value") if isinstance(v, dict) and "value" in v else v for k, v in data.items()
    }
    own = plain.pop(WANDB_KEY, None)
    if isinstance(own, dict) and "t" in own:
        plain[WANDB_KEY] = {"t": own["t"]}
    return plain


@mutation.field("createRunFiles")
def create_run_files(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    e, p, r = (
        input.get("entityName") or "",
        input.get("projectName") or "",
        input.get("runName") or "",
    )
    runs.writable_run(c.store, c.caller, e, p, r)

    names = bounded(input.get("files") or [], c.max_page, "run files")
    files = [
        {
            "name": name,
            "uploadUrl": sign_path(c, f"{PREFIX}/runfile/{q(e)}/{q(p)}/{q(r)}/{q(name)}"),
        }
        for name in names
    ]
    return {"runID": gid("Run", f"{e}/{p}/{r}"), "uploadHeaders": [], "files": files}


@mutation.field("markRunFilesUploaded")
def mark_run_files_uploaded(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    # Cairn keeps no run files (``transfers.put_run_file``): nothing to mark.
    c = ctx(info)
    e, p = input.get("entityName") or "", input.get("projectName") or ""
    runs.require_writable(c.store, c.caller, e, p)
    return {"success": True}


@mutation.field("rewindRun")
def rewind_run(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    rewound = rewind.rewind_run(
        c.store,
        c.caller,
        input.get("entityName") or c.caller.name,
        input.get("projectName") or "uncategorized",
        input["runName"],
        input["metricName"],
        input["metricValue"],
    )
    return {"rewoundRun": graphql_objects.run_obj(c, rewound)}


@mutation.field("stopRun")
def stop_run(_obj: Any, _info: Info, input: dict[str, Any]) -> Any:
    # Cairn cannot stop a client's process; the run's ``stopped`` stays false.
    log.info("wandb: stopRun %r ignored (not supported)", input.get("id"))
    return {"success": False}


@mutation.field("useArtifact")
def use_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    vid = version_id(info, input["artifactID"])
    e, p, r = input.get("entityName") or "", input.get("projectName") or "", input.get("runName")
    found = versions.get_version(c.store, c.caller, vid)
    if r:
        runs.record_use(c.store, c.caller, e, p, r, vid)
    return {"artifact": graphql_objects.artifact_obj(c, found)}


@mutation.field("updateArtifact")
def update_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    vid = version_id(info, input["artifactID"])
    current = versions.get_version(c.store, c.caller, vid)
    metadata = (
        fields.metadata(input["metadata"], c.store.limits)
        if input.get("metadata")
        else current.metadata
    )
    add: list[str] = []
    remove: list[str] = []
    if input.get("aliases") is not None:
        wanted = {a["alias"] for a in bounded(input["aliases"], c.max_page, "aliases")}
        add = sorted(wanted - set(current.aliases))
        remove = sorted(set(current.aliases) - wanted)
    edit = VersionEdit(
        entity=current.entity,
        project=current.project,
        collection=current.collection,
        description=input.get("description", current.description),
        metadata=metadata,
        aliases_to_add=add,
        aliases_to_remove=remove,
        tags_to_add=[t["tagName"] for t in input.get("tagsToAdd") or [] if t.get("tagName")],
        tags_to_remove=[t["tagName"] for t in input.get("tagsToDelete") or [] if t.get("tagName")],
        ttl_duration_seconds=input.get("ttlDurationSeconds"),
    )
    return {
        "artifact": graphql_objects.artifact_obj(
            c, edits.edit_version(c.store, c.caller, vid, edit)
        )
    }


def _alias_edit(info: Info, input: dict[str, Any], adding: bool) -> Any:
    c = ctx(info)
    vid = version_id(info, input["artifactID"])
    current = versions.get_version(c.store, c.caller, vid)
    for alias in bounded(input["aliases"], c.max_page, "aliases"):
        entity_name = alias.get("entityName") or current.entity
        project_name = alias.get("projectName") or current.project
        edit = VersionEdit(
            entity=scope(c.store, entity_name, project_name),
            project=project_name,
            collection=alias.get("artifactCollectionName") or current.collection,
            description=current.description,
            metadata=current.metadata,
            aliases_to_add=[alias["alias"]] if adding else [],
            aliases_to_remove=[] if adding else [alias["alias"]],
        )
        edits.edit_version(c.store, c.caller, vid, edit)
    return {"success": True}


@mutation.field("addAliases")
def add_aliases(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _alias_edit(info, input, True)


@mutation.field("deleteAliases")
def delete_aliases(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _alias_edit(info, input, False)


@mutation.field("deleteArtifact")
def delete_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    vid = version_id(info, input["artifactID"])
    deletion.delete_version(c.store, c.caller, vid, bool(input.get("deleteAliases")))
    return {"artifact": obj("Artifact", id=vid)}


@mutation.field("linkArtifact")
def link_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    vid = version_id(info, input.get("artifactID") or "")
    target_project = input.get("projectName") or ""
    target_entity = scope(c.store, input.get("entityName") or c.caller.name, target_project)
    name = input.get("artifactPortfolioName") or ""
    aliases = [a["alias"] for a in bounded(input.get("aliases") or [], c.max_page, "aliases")]
    link = links.link_version(c.store, c.caller, vid, target_entity, target_project, name, aliases)
    return {
        "versionIndex": link.version_index,
        "artifactMembership": graphql_objects.membership_obj(c, link),
    }


@mutation.field("unlinkArtifact")
def unlink_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    vid = version_id(info, input["artifactID"])
    found = graphql_objects.collection_by_id(c, input["artifactPortfolioID"])
    if found is None or found.is_sequence:
        raise CommError(f"'{input['artifactPortfolioID']}' is not a linked collection")
    links.unlink_version(c.store, c.caller, vid, found.entity, found.project, found.name)
    return {"success": True}


BINDABLES = [
    query,
    mutation,
    collection,
    *writes.BINDABLES,
    *collection_edits.BINDABLES,
    *automations.BINDABLES,
]
