"""Read, with the official client, what ``cairn sync`` copied to a server.

Usage: ``python read_synced.py <workdir> <entity> <project> <registry entity>``; prints one
JSON object with what the client saw of ``data:v0..v2``, ``model:v0`` and the registry
link ``champions:prod`` (files downloaded into an empty client cache).
"""

import hashlib
import json
import pathlib
import sys

import wandb

work = pathlib.Path(sys.argv[1])
entity, project, registry_entity = sys.argv[2:5]
api = wandb.Api()
out = {}


def tree(root):
    root = pathlib.Path(root)
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def seen(art, folder):
    logged_by = art.logged_by()
    ttl = art.ttl
    return {
        "version": art.version,
        "digest": art.digest,
        "aliases": sorted(a for a in art.aliases),
        "tags": sorted(art.tags),
        "metadata": art.metadata,
        "description": art.description,
        "created_at": art.created_at,
        "ttl": None if ttl is None else int(ttl.total_seconds()),
        "logged_by": None if logged_by is None else logged_by.id,
        "used_by": sorted(run.id for run in art.used_by()),
        "files": tree(art.download(root=str(work / folder))),
    }


for index in range(3):
    out[f"data:v{index}"] = seen(api.artifact(f"{entity}/{project}/data:v{index}"), f"d{index}")
out["model:v0"] = seen(api.artifact(f"{entity}/{project}/model:v0"), "m0")
linked = api.artifact(f"{registry_entity}/wandb-registry-model/champions:prod")
out["link"] = {"digest": linked.digest, "aliases": sorted(linked.aliases)}
run = api.run(f"{entity}/{project}/r1")
out["r1"] = {
    "config": dict(run.config),
    "loss": [row["loss"] for row in run.history(keys=["loss"], pandas=False)],
}
print("RESULT " + json.dumps(out))
