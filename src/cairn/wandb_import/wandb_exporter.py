"""The W&B exporter: the one place Cairn runs wandb code, always as a subprocess.

``python wandb_exporter.py list --entity E --project P [--name N]... [--type T]...`` and
``python wandb_exporter.py fetch --entity E --project P --blobs DIR --requests FILE``, run
by ``cairn.wandb_import.runner`` with the python of an environment that has ``wandb``
(``cairn[import-wandb]``) and an environment it builds itself: the W&B server's URL and key
(``WANDB_BASE_URL``, ``WANDB_API_KEY``) given on Cairn's command line, telemetry off, a
temporary home and config directory (no netrc, no stored key), no other ``WANDB_*``.

It is run as a file, never imported: it uses only the standard library and wandb's public
API (``wandb.Api``), so it runs in any python that has wandb, with or without Cairn's own
dependencies. It writes JSON lines on stdout (the record format of ``FORMAT``/``VERSION``,
read by ``cairn.wandb_import.records``), and errors on stderr.

``list`` emits, per collection of the project (artifact sequences only; optionally only
the given names and types): a ``collection`` record, then each version in order of its
index: the ``run`` records of the runs that logged or used it (each run once), then the
``version`` record (manifest as W&B stores it — reference entries stay references —
aliases, tags, metadata, description, TTL, created_at, lineage, registry links).
``fetch`` reads requests ``{"artifact": "E/P/name:vN", "paths": [...]}`` (JSON lines) and
downloads each entry into ``DIR/<md5 hex>`` (written under a temporary name, then
renamed), skipping blobs already there, one ``blob`` record per entry.
"""

import argparse
import base64
import json
import os
import sys
import tempfile

FORMAT = "cairn-wandb-export"
VERSION = 1
MISSING_WANDB_EXIT = 3


def emit(record):
    sys.stdout.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def blob_name(digest):
    """The file name of a blob: the hex of its base64 MD5 digest (a safe name)."""
    raw = base64.b64decode(digest, validate=True)
    if len(raw) != 16:
        raise ValueError(f"not an MD5 digest: {digest!r}")
    return raw.hex()


def run_record(run):
    """What Cairn keeps of a W&B run: identity, job type, state, config, summary."""
    summary = getattr(run, "summary_metrics", None) or {}
    return {
        "kind": "run",
        "id": run.id,
        "entity": run.entity,
        "project": run.project,
        "name": getattr(run, "name", None) or run.id,
        "job_type": getattr(run, "job_type", None),
        "state": getattr(run, "state", None),
        "created_at": getattr(run, "created_at", None),
        "config": dict(run.config or {}),
        "summary": {k: v for k, v in dict(summary).items() if not k.startswith("_wandb")},
    }


def ttl_of(artifact):
    """``"inherit"``, ``None`` (no TTL) or a number of seconds."""
    if getattr(artifact, "_ttl_is_inherited", False):
        return "inherit"
    seconds = getattr(artifact, "_ttl_duration_seconds", None)
    return None if seconds is None or seconds < 0 else int(seconds)


def links_of(artifact):
    """The registry collections this version is linked into, with the link's aliases."""
    try:
        linked = artifact.linked_artifacts
    except ValueError:  # wandb raises when a version has no membership it can list
        return []
    links = []
    for link in linked:
        version = link.version
        links.append(
            {
                "entity": link.entity,
                "project": link.project,
                "collection": link.name.split(":", 1)[0],
                "index": int(version[1:]) if version.startswith("v") else None,
                "aliases": sorted(a for a in link.aliases if a != version),
                "linked_at": getattr(link, "linked_at", None),
            }
        )
    return links


class Lister:
    """Walks a project's collections and versions with wandb's public API."""

    def __init__(self, api, entity, project):
        self.api = api
        self.entity = entity
        self.project = project
        self.seen_runs = set()

    def run_id(self, run):
        if run is None:
            return None
        key = (run.entity, run.project, run.id)
        if key not in self.seen_runs:
            self.seen_runs.add(key)
            emit(run_record(run))
        return {"entity": run.entity, "project": run.project, "id": run.id}

    def collections(self, names, types):
        base = f"{self.entity}/{self.project}"
        for kind in sorted(self.api.artifact_types(base), key=lambda t: t.name):
            if types and kind.name not in types:
                continue
            for collection in sorted(kind.collections(), key=lambda c: c.name):
                if names and collection.name not in names:
                    continue
                if not collection.is_sequence():
                    continue
                yield kind.name, collection

    def version(self, collection_name, artifact):
        logged_by = self.run_id(artifact.logged_by())
        used_by = [self.run_id(run) for run in artifact.used_by()]
        manifest = artifact.manifest.to_manifest_json()
        emit(
            {
                "kind": "version",
                "collection": collection_name,
                "type": artifact.type,
                "index": int(artifact.version[1:]),
                "id": artifact.id,
                "digest": artifact.digest,
                "manifest": manifest,
                "aliases": sorted(a for a in artifact.aliases if a != artifact.version),
                "tags": sorted(artifact.tags or []),
                "metadata": artifact.metadata or {},
                "description": artifact.description,
                "ttl": ttl_of(artifact),
                "created_at": artifact.created_at,
                "logged_by": logged_by,
                "used_by": sorted(used_by, key=lambda r: (r["entity"], r["project"], r["id"])),
                "links": links_of(artifact),
                "size": artifact.size,
                "file_count": artifact.file_count,
            }
        )

    def run(self, names, types):
        counts = {"collections": 0, "versions": 0}
        for type_name, collection in self.collections(names, types):
            counts["collections"] += 1
            emit(
                {
                    "kind": "collection",
                    "name": collection.name,
                    "type": type_name,
                    "description": collection.description,
                    "tags": sorted(getattr(collection, "tags", None) or []),
                }
            )
            path = f"{self.entity}/{self.project}/{collection.name}"
            versions = self.api.artifacts(type_name, path, per_page=100)
            for artifact in sorted(versions, key=lambda a: int(a.version[1:])):
                self.version(collection.name, artifact)
                counts["versions"] += 1
        emit({"kind": "end", **counts})


def fetch(api, blobs, requests):
    """Download the requested entries into ``blobs/<md5 hex>``."""
    os.makedirs(blobs, exist_ok=True)
    downloaded = 0
    with open(requests, encoding="utf-8") as lines:
        wanted = [json.loads(line) for line in lines if line.strip()]
    for request in wanted:
        artifact = api.artifact(request["artifact"])
        for path in request["paths"]:
            entry = artifact.get_entry(path)
            name = blob_name(entry.digest)
            final = os.path.join(blobs, name)
            if not os.path.exists(final):
                with tempfile.TemporaryDirectory(dir=blobs, prefix=".dl-") as scratch:
                    got = entry.download(root=scratch, skip_cache=True)
                    os.replace(got, final)
                downloaded += 1
            emit({"kind": "blob", "digest": entry.digest, "path": final, "size": entry.size})
    emit({"kind": "end", "downloaded": downloaded})


def parse(argv):
    parser = argparse.ArgumentParser(prog="wandb_exporter")
    parser.add_argument("command", choices=["list", "fetch"])
    parser.add_argument("--entity", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--name", action="append", default=[])
    parser.add_argument("--type", action="append", default=[])
    parser.add_argument("--blobs")
    parser.add_argument("--requests")
    return parser.parse_args(argv)


def main(argv):
    args = parse(argv)
    try:
        import wandb  # the one import of wandb in Cairn
    except ImportError as exc:
        sys.stderr.write(f"wandb is not installed in {sys.executable}: {exc}\n")
        return MISSING_WANDB_EXIT
    emit({"kind": "header", "format": FORMAT, "version": VERSION, "wandb": wandb.__version__})
    api = wandb.Api(
        overrides={"base_url": os.environ["WANDB_BASE_URL"]},
        api_key=os.environ["WANDB_API_KEY"],
        timeout=60,
    )
    if args.command == "list":
        Lister(api, args.entity, args.project).run(set(args.name), set(args.type))
    else:
        fetch(api, args.blobs, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
