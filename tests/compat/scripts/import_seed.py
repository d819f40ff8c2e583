"""Seed a project for ``cairn import wandb``, with the official client's own python.

Usage: ``python import_seed.py <workdir> <project> <registry project>``. Logs two
collections over two runs: ``raw`` (dataset) v0..v2 with aliases, tags, metadata, a
description, a TTL and a ``file://`` reference entry; ``net`` (model) v0..v1, where v1 is
logged by a second run that used ``raw:v1`` and is linked into the registry. Prints one
``RESULT {...}`` line: what the client says it logged (the test compares the import with
it).
"""

import datetime
import json
import pathlib
import sys

import wandb

work = pathlib.Path(sys.argv[1])
project = sys.argv[2]
registry = sys.argv[3]
data = work / "data"
(data / "sub").mkdir(parents=True)
(data / "a.txt").write_text("alpha\n")
(data / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
refdir = work / "refs"
refdir.mkdir()
(refdir / "r.txt").write_text("referenced\n")
weights = work / "weights.bin"
weights.write_bytes(b"w" * 5000)

run1 = wandb.init(project=project, job_type="prep", config={"lr": 0.1, "layers": [1, 2]})
run1.log({"loss": 0.5})
run1.log({"loss": 0.25})
v0 = wandb.Artifact("raw", type="dataset", description="first cut", metadata={"rows": 2})
v0.add_dir(str(data))
run1.log_artifact(v0, aliases=["first"])
v0.wait()
(data / "c.txt").write_text("gamma\n")
v1 = wandb.Artifact("raw", type="dataset", metadata={"rows": 3, "nested": {"k": [1, 2]}})
v1.add_dir(str(data))
v1.add_reference("file://" + str(refdir / "r.txt"), name="ref/r.txt")
v1.ttl = datetime.timedelta(days=30)
run1.log_artifact(v1, aliases=["best"])
v1.wait()
(data / "d.txt").write_text("delta\n")
v2 = wandb.Artifact("raw", type="dataset")
v2.add_dir(str(data))
run1.log_artifact(v2)
v2.wait()
m0 = wandb.Artifact("net", type="model")
m0.add_file(str(weights))
run1.log_artifact(m0)
m0.wait()
run1.finish()

run2 = wandb.init(project=project, job_type="train", config={"epochs": 3})
used = run2.use_artifact("raw:v1")
weights.write_bytes(b"x" * 6000)
m1 = wandb.Artifact("net", type="model", metadata={"acc": 0.9})
m1.add_file(str(weights))
run2.log_artifact(m1, aliases=["prod"])
m1.wait()
linked = m1.link(f"{registry}/{project}-net", aliases=["staging"])
run2.finish()

api = wandb.Api()
edit = api.artifact(f"{run1.entity}/{project}/raw:v0")
edit.tags = ["t0", "golden"]
edit.save()
out = {"entity": run1.entity, "run1": run1.id, "run2": run2.id, "versions": {}}
for name, type_ in (("raw", "dataset"), ("net", "model")):
    for art in api.artifacts(type_, f"{run1.entity}/{project}/{name}"):
        out["versions"][f"{name}:{art.version}"] = {
            "digest": art.digest,
            "aliases": sorted(a for a in art.aliases if a != art.version),
            "tags": sorted(art.tags),
            "metadata": art.metadata,
            "description": art.description,
            "created_at": art.created_at,
            "ttl_inherited": art._ttl_is_inherited,
            "ttl_seconds": art._ttl_duration_seconds,
            "files": {
                e.path: {"digest": e.digest, "ref": e.ref} for e in art.manifest.entries.values()
            },
        }
out["registry_entity"] = linked.entity
print("RESULT " + json.dumps(out, sort_keys=True))
