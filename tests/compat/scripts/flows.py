"""The wandb flows of the compat suite, run by the official client's own python.

Usage: ``python flows.py <workdir> <http reference url> <project> <name>``, where ``<name>``
is a collection of the project that Cairn's own SDK logged (read here: the other
direction of "one store, two clients"); prints one JSON object with what the client saw
(the test asserts on it and on what Cairn stored).
"""

import hashlib
import json
import os
import pathlib
import sys

import wandb

work = pathlib.Path(sys.argv[1])
http_ref = sys.argv[2]
project = sys.argv[3]
cairn_name = sys.argv[4]
out = {}


def tree(root):
    """{relative path: hex md5} of the files under ``root``."""
    root = pathlib.Path(root)
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


data = work / "data"
data.mkdir(parents=True)
(data / "a.txt").write_text("alpha\n")
(data / "sub").mkdir()
(data / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
single = work / "single.txt"
single.write_text("one file\n")
refdir = work / "refs"
refdir.mkdir()
(refdir / "r.txt").write_text("referenced\n")

run = wandb.init(project=project, job_type="log")
out["entity"] = run.entity

# a directory, with a user alias
ds = wandb.Artifact("ds", type="dataset", metadata={"rows": 3})
ds.add_dir(str(data))
run.log_artifact(ds, aliases=["best"])
ds.wait()
out["v0"] = {"version": ds.version, "digest": ds.digest, "id": ds.id}

# the same content again: the digest no-op gives back v0
again = wandb.Artifact("ds", type="dataset")
again.add_dir(str(data))
run.log_artifact(again, aliases=["again"])
again.wait()
out["noop"] = {"version": again.version, "digest": again.digest}

# one more file: v1, only the new file is uploaded (the others are deduplicated)
(data / "c.txt").write_text("gamma\n")
ds1 = wandb.Artifact("ds", type="dataset")
ds1.add_dir(str(data))
run.log_artifact(ds1)
ds1.wait()
out["v1"] = {"version": ds1.version, "digest": ds1.digest}

# a single file and references (file:// and http)
one = wandb.Artifact("single", type="model")
one.add_file(str(single))
run.log_artifact(one, aliases=["prod"])
one.wait()
out["single"] = {"version": one.version, "digest": one.digest}
refs = wandb.Artifact("refs", type="dataset")
refs.add_reference("file://" + str(refdir))
refs.add_reference(http_ref, name="web.txt")
run.log_artifact(refs)
refs.wait()
out["refs"] = {"version": refs.version, "digest": refs.digest}
run.finish()
out["run_id"] = run.id

# read back with a fresh cache: the Public API, then use_artifact in a second run
os.environ["WANDB_CACHE_DIR"] = str(work / "cache2")
api = wandb.Api()
got = api.artifact(f"{out['entity']}/{project}/ds:best")
where = got.download(root=str(work / "dl"))
out["download"] = {
    "version": got.version,
    "aliases": sorted(got.aliases),
    "metadata": got.metadata,
    "files": tree(where),
}
refs_got = api.artifact(f"{out['entity']}/{project}/refs:latest")
out["refs_download"] = tree(refs_got.download(root=str(work / "dl-refs")))
# what Cairn's SDK logged, read with this client
from_cairn = api.artifact(f"{out['entity']}/{project}/{cairn_name}:from-cairn")
out["from_cairn"] = {
    "version": from_cairn.version,
    "digest": from_cairn.digest,
    "aliases": sorted(from_cairn.aliases),
    "metadata": from_cairn.metadata,
    "versions": sorted(
        a.version for a in api.artifacts("dataset", f"{out['entity']}/{project}/{cairn_name}")
    ),
    "files": tree(from_cairn.download(root=str(work / "dl-cairn"))),
}

run2 = wandb.init(project=project, job_type="use")
used = run2.use_artifact("ds:v0")
used_dir = pathlib.Path(used.download(root=str(work / "dl-used")))
out["used"] = {
    "version": used.version,
    "files": len([p for p in used_dir.rglob("*") if p.is_file()]),
}
linked = used.link(f"wandb-registry-model/{project}", aliases=["staging"])
out["linked"] = {"version": getattr(linked, "version", None)}
used_cairn = run2.use_artifact(f"{cairn_name}:v0")
out["used_cairn"] = {
    "version": used_cairn.version,
    "digest": used_cairn.digest,
    "files": tree(used_cairn.download(root=str(work / "dl-used-cairn"))),
}
# a link that is taken back: unlink() removes the membership, the source stays
temp = used_cairn.link(f"wandb-registry-model/{project}-temp", aliases=["tmp"])
temp.unlink()
try:
    api.artifact(f"{temp.entity}/wandb-registry-model/{project}-temp:tmp")
    out["unlinked"] = False
except Exception:
    out["unlinked"] = True
run2.finish()
out["run2_id"] = run2.id

# listing, edits and deletion through the Public API
api = wandb.Api()
out["listing"] = sorted(
    a.version for a in api.artifacts("dataset", f"{out['entity']}/{project}/ds")
)
edit = api.artifact(f"{out['entity']}/{project}/ds:v1")
edit.aliases.append("edited")
edit.tags = ["t1"]
edit.metadata = {"rows": 4}
edit.description = "second"
edit.save()
edited = api.artifact(f"{out['entity']}/{project}/ds:v1")
out["edited"] = {
    "aliases": sorted(edited.aliases),
    "tags": sorted(edited.tags),
    "metadata": edited.metadata,
    "description": edited.description,
}
victim = api.artifact(f"{out['entity']}/{project}/single:v0")
victim.delete(delete_aliases=True)
try:
    api.artifact(f"{out['entity']}/{project}/single:v0")
    out["deleted"] = False
except Exception:
    out["deleted"] = True
print("RESULT " + json.dumps(out))
