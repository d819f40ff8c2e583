"""The W&B exporter: the one place Cairn runs wandb code, always as a subprocess.

``python wandb_exporter.py list --entity E --project P [--name N]... [--type T]...`` and
``python wandb_exporter.py fetch --entity E --project P``, run by
``cairn.wandb_import.runner`` with the python of an environment that has ``wandb``
(``cairn[import-wandb]``) and an environment it builds itself: the W&B server's URL and key
(``WANDB_BASE_URL``, ``WANDB_API_KEY``) given on Cairn's command line, telemetry off, a
temporary home and config directory (no netrc, no stored key), no other ``WANDB_*``.

It is run as a file, never imported: it uses only the standard library and wandb's public
API (``wandb.Api``), so it runs in any python that has wandb, with or without Cairn's own
dependencies. It writes JSON lines on stdout (the record format of ``FORMAT``/``VERSION``,
read by ``cairn.wandb_import.export_records``); on stderr, ``note: ...`` lines (passed on
as warnings) and, when it fails, one ``error: <class>: <message>`` line.

``list`` emits, per collection of the project (artifact sequences only; optionally only
the given names and types): a ``collection`` record, then each version in order of its
index: the ``run`` records of the runs that logged or used it (each run once), then the
``version`` record (manifest as W&B stores it — reference entries stay references —
aliases, tags, metadata, description, TTL, created_at, lineage, registry links).
``fetch`` serves requests, one JSON line each on stdin, until stdin closes:
``{"artifact": "E/P/name:vN", "paths": [...], "folder": DIR}`` downloads each entry into
``DIR/<hex of its digest>`` (written under a temporary name, then renamed), answers one
``blob`` record per entry, then a ``done`` record. The parent writes a request only after
reading the answer to the last, so neither side waits on a full pipe.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

FORMAT = "cairn-wandb-export"
VERSION = 1
MISSING_WANDB_EXIT = 3
DOWNLOAD_THREADS = 8
MAX_HISTORY = 100_000  # rows of a run's history copied; a longer one is left (it would be sampled)


class NotFound(Exception):
    """The project (or its entity) does not exist, or the key may not see it."""


def emit(record: dict[str, Any]) -> None:
    """One record on stdout, flushed (the parent reads as it goes)."""
    sys.stdout.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def blob_name(digest: str) -> str:
    """The file name of a blob: the hex of its base64 digest (MD5 or XXH128; a safe name)."""
    raw = base64.b64decode(digest, validate=True)
    if len(raw) != 16:
        raise ValueError(f"not a blob digest: {digest!r}")
    return raw.hex()


def history_of(run: Any) -> list[dict[str, Any]] | None:
    """The run's whole history, by step; None when W&B would only give a sample of it
    (more than ``MAX_HISTORY`` rows) or gives none (the record says so, never a part)."""
    try:
        rows = run.history(samples=MAX_HISTORY, pandas=False)
    except Exception as exc:  # an older server, a run without history
        sys.stderr.write(f"note: the history of run {run.id} was not read: {exc}\n")
        return None
    if len(rows) >= MAX_HISTORY:
        sys.stderr.write(f"note: run {run.id} has {MAX_HISTORY}+ history rows: not copied\n")
        return None
    return sorted((dict(row) for row in rows), key=lambda row: row.get("_step", 0))


def run_record(run: Any) -> dict[str, Any]:
    """What Cairn keeps of a W&B run: identity, job type, state, config, summary, history."""
    summary = getattr(run, "summary_metrics", None) or {}
    return {
        "history": history_of(run),
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


def ttl_of(artifact: Any) -> int | str | None:
    """``"inherit"``, ``None`` (no TTL) or a number of seconds."""
    if getattr(artifact, "_ttl_is_inherited", False):
        return "inherit"
    seconds = getattr(artifact, "_ttl_duration_seconds", None)
    return None if seconds is None or seconds < 0 else int(seconds)


def links_of(artifact: Any) -> list[dict[str, Any]]:
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

    def __init__(self, api: Any, entity: str, project: str) -> None:
        self.api = api
        self.entity = entity
        self.project = project
        self.seen_runs: set[tuple[str, str, str]] = set()

    def run_id(self, run: Any) -> dict[str, str] | None:
        if run is None:
            return None
        key = (run.entity, run.project, run.id)
        if key not in self.seen_runs:
            self.seen_runs.add(key)
            emit(run_record(run))
        return {"entity": run.entity, "project": run.project, "id": run.id}

    def check_project(self) -> None:
        """Raise NotFound unless the entity has the project (asked only when the project
        has no artifact type: listing an entity's projects can take long)."""
        try:
            names = {p.name for p in self.api.projects(self.entity)}
        except Exception:  # wandb raises several classes for an unknown entity
            names = set()
        if self.project not in names:
            raise NotFound(
                f"no project {self.entity}/{self.project} on the W&B server "
                "(or the key may not see it)"
            )

    def collections(self, names: set[str], types: set[str]) -> Iterator[tuple[str, Any]]:
        base = f"{self.entity}/{self.project}"
        try:
            kinds = list(self.api.artifact_types(base))
        except Exception:
            self.check_project()
            raise
        if not kinds:
            self.check_project()
        for kind in sorted(kinds, key=lambda t: t.name):
            if types and kind.name not in types:
                continue
            for collection in sorted(kind.collections(), key=lambda c: c.name):
                if names and collection.name not in names:
                    continue
                if not collection.is_sequence():
                    continue
                yield kind.name, collection

    def version(self, collection_name: str, artifact: Any) -> None:
        logged_by = self.run_id(artifact.logged_by())
        used_by = [ref for run in artifact.used_by() if (ref := self.run_id(run)) is not None]
        manifest = artifact.manifest.to_manifest_json()
        emit(
            {
                "kind": "version",
                "collection": collection_name,
                "type": artifact.type,
                "index": int(artifact.version[1:]),
                "id": artifact.id,
                "digest": artifact.digest,
                "digest_algorithm": algorithm_of(artifact),
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

    def run(self, names: set[str], types: set[str]) -> None:
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


def download_entry(entry: Any, folder: str) -> None:
    """One entry into ``folder/<hex digest>`` (a temporary name first, then renamed)."""
    final = os.path.join(folder, blob_name(entry.digest))
    if not os.path.exists(final):
        with tempfile.TemporaryDirectory(dir=folder, prefix=".dl-") as scratch:
            got = entry.download(root=scratch, skip_cache=True)
            os.replace(got, final)


def prefetch_urls(artifact: Any, entries: list[Any]) -> None:
    """Give ``entries`` their download URLs in pages of 5,000, as wandb's own
    ``Artifact.download`` does; without them each entry asks the server for its own URL.
    A private part of wandb: if this release lacks it, each entry asks (slower, same
    bytes)."""
    wanted = {entry.path: entry for entry in entries}
    try:
        cursor, more = None, True
        while more:
            page = artifact._fetch_file_urls(cursor=cursor, per_page=5000)
            more, cursor = page.page_info.has_next_page, page.page_info.end_cursor
            for edge in page.edges:
                node = edge.node
                if node is not None and node.name in wanted:
                    wanted[node.name]._download_url = node.direct_url
    except AttributeError:
        return


def fetch_one(api: Any, request: dict[str, Any]) -> None:
    """Download the entries ``request`` names into its folder, ``DOWNLOAD_THREADS`` at a
    time (as wandb's own ``Artifact.download`` does); one ``blob`` record each, written by
    this thread in the order of the request."""
    folder = request["folder"]
    os.makedirs(folder, exist_ok=True)
    artifact = api.artifact(request["artifact"])
    entries = [artifact.get_entry(path) for path in request["paths"]]
    prefetch_urls(artifact, entries)
    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        futures = [pool.submit(download_entry, entry, folder) for entry in entries]
        for index, future in enumerate(futures):  # zip(strict=) needs 3.10; wandb runs on 3.9
            future.result()
            entry = entries[index]
            emit({"kind": "blob", "digest": entry.digest, "size": entry.size})


def serve_fetches(api: Any) -> None:
    """Answer fetch requests from stdin until it closes (see the module doc)."""
    for line in sys.stdin:
        if line.strip():
            fetch_one(api, json.loads(line))
            emit({"kind": "done"})
    emit({"kind": "end"})


def algorithm_of(artifact: Any) -> str:
    """``"XXH128"`` or ``"MD5"``: the artifact-level digest algorithm."""
    value = getattr(artifact, "digest_algorithm", None)
    return "XXH128" if str(getattr(value, "value", value)).endswith("XXH128") else "MD5"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="wandb_exporter")
    parser.add_argument("command", choices=["list", "fetch"])
    parser.add_argument("--entity", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--name", action="append", default=[])
    parser.add_argument("--type", action="append", default=[])
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        import wandb  # type: ignore[import-not-found]  # noqa: PLC0415 - the one import of wandb in Cairn
    except ImportError as exc:
        sys.stderr.write(f"wandb is not installed in {sys.executable}: {exc}\n")
        return MISSING_WANDB_EXIT
    emit({"kind": "header", "format": FORMAT, "version": VERSION, "wandb": wandb.__version__})
    try:
        api = wandb.Api(
            overrides={"base_url": os.environ["WANDB_BASE_URL"]},
            api_key=os.environ["WANDB_API_KEY"],
            timeout=60,
        )
        run_command(api, args)
    except Exception as exc:  # the parent reads one line: the class and the message
        sys.stderr.write(f"error: {type(exc).__name__}: {exc}\n")
        return 1
    return 0


def run_command(api: Any, args: argparse.Namespace) -> None:
    if args.command == "list":
        Lister(api, args.entity, args.project).run(set(args.name), set(args.type))
    else:
        serve_fetches(api)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
