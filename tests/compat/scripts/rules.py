"""The rules the server applies to what the official client logs, run by the client's own
python: an incremental version merged onto its base, and values the client lets through
but a store refuses (an alias, a tag, a type).

Usage: ``python rules.py <workdir> <project> <bad alias> <bad tag> <bad type>``. Prints one
JSON object ``{step: {...} or {"error": "<type>: <message>"}}``. Everything read back is
read with a fresh, empty ``WANDB_CACHE_DIR`` (the client serves files it uploaded from its
own cache, which would hide what the server does not serve).
"""

import hashlib
import json
import os
import pathlib
import sys
import traceback

import wandb

work = pathlib.Path(sys.argv[1])
project = sys.argv[2]
bad_alias, bad_tag, bad_type = sys.argv[3:6]
out = {}
work.mkdir(parents=True, exist_ok=True)


def step(name):
    def wrap(function):
        try:
            out[name] = function()
        except Exception as exc:  # each step on its own: record and go on
            out[name] = {
                "error": f"{type(exc).__name__}: {exc}"[:2000],
                "trace": traceback.format_exc()[-1500:],
            }
        return function

    return wrap


def cold(label):
    """Read with a new, empty client cache from now on."""
    os.environ["WANDB_CACHE_DIR"] = str(work / f"cache-{label}")


def files_of(artifact, label):
    where = pathlib.Path(artifact.download(root=str(work / label)))
    return {
        str(p.relative_to(where)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(where.rglob("*"))
        if p.is_file()
    }


def log(artifact, **kwargs):
    run = wandb.init(project=project, job_type="rules")
    try:
        run.log_artifact(artifact, **kwargs)
        artifact.wait()
    finally:
        run.finish()


@step("incremental")
def _():
    (work / "a.txt").write_text("file a\n")
    (work / "b.txt").write_text("file b\n")
    (work / "c.txt").write_text("file c\n")
    first = wandb.Artifact("inc", type="dataset")
    first.add_file(str(work / "a.txt"))
    first.add_file(str(work / "b.txt"))
    log(first)
    more = wandb.Artifact("inc", type="dataset", incremental=True)
    more.add_file(str(work / "c.txt"))
    log(more)
    (work / "b2").mkdir()
    (work / "b2" / "b.txt").write_text("file b, changed\n")
    change = wandb.Artifact("inc", type="dataset", incremental=True)
    change.add_file(str(work / "b2" / "b.txt"))
    log(change)
    cold("inc")
    api = wandb.Api()
    got = api.artifact(f"{project}/inc:v1")
    return {
        "version": got.version,
        "files": files_of(got, "inc-v1"),
        "v0_files": sorted(files_of(api.artifact(f"{project}/inc:v0"), "inc-v0")),
        "v2_files": files_of(api.artifact(f"{project}/inc:latest"), "inc-v2"),
    }


def refused(label, **kwargs):
    (work / f"{label}.txt").write_text(f"{label}\n")
    art = wandb.Artifact(f"bad-{label}", type=kwargs.pop("type", "dataset"))
    art.add_file(str(work / f"{label}.txt"))
    log(art, **kwargs)
    return {"logged": True}


step("bad_alias")(lambda: refused("alias", aliases=[bad_alias]))
step("bad_tag")(lambda: refused("tag", tags=[bad_tag]))
step("bad_type")(lambda: refused("type", type=bad_type))

print("RESULT " + json.dumps(out))
