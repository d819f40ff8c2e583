"""The wandb flows around artifacts beyond logging and reading (issue 17), run by the
official client's own python.

Usage: ``python flows_more.py <workdir> <project> <registry project>``. Each flow runs on
its own, so one failure does not hide the others; prints one JSON object
``{flow: {"ok": ..., ...} or {"error": "<type>: <message>"}}``. Everything read back is
read with a fresh, empty ``WANDB_CACHE_DIR`` (the client serves files it uploaded from its
own cache, which would hide what the server does not serve).
"""

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import traceback

import wandb

work = pathlib.Path(sys.argv[1])
project = sys.argv[2]
registry = sys.argv[3]
out = {}
work.mkdir(parents=True, exist_ok=True)


def flow(name):
    def wrap(function):
        try:
            out[name] = function()
        except Exception as exc:  # each flow on its own: record and go on
            out[name] = {
                "error": f"{type(exc).__name__}: {exc}"[:800],
                "trace": traceback.format_exc()[-1500:],
            }
        return function

    return wrap


def cold(label):
    """Read with a new, empty client cache from now on."""
    os.environ["WANDB_CACHE_DIR"] = str(work / f"cache-{label}")


def md5(path):
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


src = work / "src"
src.mkdir()
(src / "f.txt").write_text("first file\n")
(src / "g.txt").write_text("second file\n")

run = wandb.init(project=project, job_type="log", config={"lr": 0.1})
for step in range(3):
    run.log({"loss": 1.0 / (step + 1), "acc": step / 3})
art = wandb.Artifact("things", type="dataset")
art.add_dir(str(src))
run.log_artifact(art)
art.wait()
entity = run.entity
run_id = run.id
run.finish()
base = f"{entity}/{project}"
out["entity"] = entity


@flow("entry_download")
def _():
    cold("entry")
    got = wandb.Api().artifact(f"{base}/things:latest")
    entry = got.get_entry("f.txt").download(root=str(work / "entry"))
    path = got.get_path("g.txt").download(root=str(work / "path"))
    return {
        "entry": md5(entry),
        "path": md5(path),
        "want": md5(src / "f.txt"),
        "want_path": md5(src / "g.txt"),
    }


@flow("file")
def _():
    cold("file")
    single = wandb.init(project=project, job_type="single")
    one = wandb.Artifact("one", type="model")
    one.add_file(str(src / "f.txt"))
    single.log_artifact(one)
    single.finish()
    cold("file-read")
    got = wandb.Api().artifact(f"{base}/one:latest")
    return {"file": md5(got.file(root=str(work / "file"))), "want": md5(src / "f.txt")}


@flow("artifact_reference")
def _():
    referrer = wandb.init(project=project, job_type="ref")
    source = wandb.Api().artifact(f"{base}/things:latest")
    ref = wandb.Artifact("refers", type="dataset")
    ref.add_reference(source.get_entry("f.txt"))
    referrer.log_artifact(ref)
    referrer.finish()
    cold("ref")
    got = wandb.Api().artifact(f"{base}/refers:latest")
    where = pathlib.Path(got.download(root=str(work / "ref")))
    return {"files": {p.name: md5(p) for p in where.rglob("*") if p.is_file()}}


@flow("types")
def _():
    api = wandb.Api()
    types = [t.name for t in api.artifact_types(base)]
    collections = [c.name for c in api.artifact_type("dataset", base).collections()]
    listed = subprocess.run(
        [sys.executable, "-m", "wandb", "artifact", "ls", base],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WANDB_SILENT": "false"},  # it prints with wandb.termlog
    )
    return {
        "types": sorted(types),
        "collections": sorted(collections),
        "ls_code": listed.returncode,
        "ls": listed.stdout[-500:] + listed.stderr[-500:],
    }


@flow("lineage")
def _():
    user = wandb.init(project=project, job_type="use")
    user.use_artifact("things:latest")
    user_id = user.id
    user.finish()
    api = wandb.Api()
    got = api.artifact(f"{base}/things:latest")
    logged_by = got.logged_by()
    used_by = got.used_by()
    return {
        "logged_by": logged_by.id if logged_by else None,
        "used_by": sorted(r.id for r in used_by),
        "want_logged_by": run_id,
        "want_used_by": [user_id],
    }


@flow("runs")
def _():
    api = wandb.Api()
    found = api.run(f"{base}/{run_id}")
    history = found.history(pandas=False)
    return {
        "runs": sorted(r.id for r in api.runs(base))[:20],
        "config_lr": found.config.get("lr"),
        "history_loss": [row.get("loss") for row in history],
        "logged": sorted(a.name for a in found.logged_artifacts()),
        "projects": sorted(p.name for p in api.projects(entity))[:50],
    }


@flow("run_filters")
def _():
    where = f"{project}-filters"  # a project of its own: the counts are exact
    for name, lr, acc in (("filt-a", 0.1, 0.95), ("filt-b", 0.01, 0.5), ("filt-c", 0.3, 0.99)):
        made = wandb.init(project=where, name=name, job_type="filter", config={"lr": lr})
        made.log({"acc": acc})
        made.finish()
    api = wandb.Api()

    def names(filters, **kw):
        found = api.runs(f"{entity}/{where}", filters=filters, per_page=1, **kw)
        return {"names": [r.name for r in found], "count": len(found)}

    try:
        list(api.runs(f"{entity}/{where}", filters={"config.lr": {"$near": 1}}))
        refused = None
    except Exception as exc:
        refused = f"{type(exc).__name__}: {exc}"[:300]
    return {
        "all": names({}, order="+created_at"),
        "lr": names({"config.lr": 0.1}),
        "acc": names({"summary_metrics.acc": {"$gt": 0.9}}, order="+summary_metrics.acc"),
        "or": names(
            {"$or": [{"config.lr.value": 0.01}, {"display_name": {"$regex": "^filt-c$"}}]},
            order="+created_at",
        ),
        "and": names({"$and": [{"state": "finished"}, {"config.lr": {"$lt": 0.05}}]}),
        "refused": refused,
    }


@flow("collection_edits")
def _():
    edit_run = wandb.init(project=project, job_type="coll")
    made = wandb.Artifact("coll", type="dataset")
    made.add_file(str(src / "g.txt"))
    edit_run.log_artifact(made)
    edit_run.finish()
    api = wandb.Api()
    collection = api.artifact_collection("dataset", f"{base}/coll")
    collection.description = "described"
    collection.tags = ["t1", "t2"]
    collection.save()
    again = api.artifact_collection("dataset", f"{base}/coll")
    seen = {"description": again.description, "tags": sorted(again.tags)}
    again.name = "coll-renamed"
    again.save()
    renamed = api.artifact_collection("dataset", f"{base}/coll-renamed")
    seen["renamed"] = renamed.name
    renamed.change_type("model")
    seen["type"] = api.artifact_collection("model", f"{base}/coll-renamed").type
    api.artifact_collection("model", f"{base}/coll-renamed").delete()
    try:
        api.artifact_collection("model", f"{base}/coll-renamed")
        seen["deleted"] = False
    except Exception:
        seen["deleted"] = True
    return seen


@flow("registry")
def _():
    api = wandb.Api()
    names = sorted(r.name for r in api.registries())
    model = api.registry(registry.removeprefix("wandb-registry-"))
    return {"registries": names, "registry": model.name}


@flow("registry_alias")
def _():
    api = wandb.Api()
    got = api.artifact(f"{base}/things:latest")
    linked = got.link(f"{registry}/things-linked")
    linked.aliases.append("champion")
    linked.save()
    again = api.artifact(f"{linked.entity}/{registry}/things-linked:champion")
    return {"aliases": sorted(again.aliases)}


@flow("resume")
def _():
    first = wandb.init(project=project, job_type="resume")
    rid = first.id
    first.log({"x": 1})
    first.log({"x": 2})
    first.finish()
    must = wandb.init(project=project, id=rid, resume="must")
    must.log({"x": 3})
    step_after_must = must.step
    must.finish()
    allow = wandb.init(project=project, id=rid, resume="allow")
    allow.log({"x": 4})
    allow.finish()
    history = [row.get("x") for row in wandb.Api().run(f"{base}/{rid}").history(pandas=False)]
    seen = {"step_after_must": step_after_must, "history": history}
    try:
        never = wandb.init(project=project, id=rid, resume="never")
        never.finish()
        seen["never_refused"] = False
    except Exception:
        seen["never_refused"] = True
    try:
        missing = wandb.init(project=project, id="no-such-run-xyz", resume="must")
        missing.finish()
        seen["must_missing_refused"] = False
    except Exception:
        seen["must_missing_refused"] = True
    return seen


@flow("rewind")
def _():
    first = wandb.init(project=project, job_type="rewind")
    rid = first.id
    for x in range(5):
        first.log({"x": x})
    first.finish()
    again = wandb.init(project=project, resume_from=f"{rid}?_step=2")
    again.log({"x": 100})
    again.finish()
    found = wandb.Api().run(f"{base}/{rid}")
    return {
        "history": [(row["_step"], row.get("x")) for row in found.history(pandas=False)],
        "summary_x": found.summary.get("x"),
    }


@flow("incremental")
def _():
    inc_run = wandb.init(project=project, job_type="inc")
    extra = work / "extra.txt"
    extra.write_text("added later\n")
    inc = wandb.Artifact("things", type="dataset", incremental=True)
    inc.add_file(str(extra))
    inc_run.log_artifact(inc)
    inc.wait()
    inc_run.finish()
    cold("inc")
    got = wandb.Api().artifact(f"{base}/things:latest")
    where = pathlib.Path(got.download(root=str(work / "inc")))
    files = sorted(p.name for p in where.rglob("*") if p.is_file())
    return {"version": got.version, "files": files}


@flow("distributed")
def _():
    shard_dir = work / "shards"
    shard_dir.mkdir()
    for i in range(2):
        shard = shard_dir / f"shard{i}.txt"
        shard.write_text(f"shard {i}\n")
        writer = wandb.init(project=project, job_type="shard", group="dist")
        part = wandb.Artifact("dist", type="dataset")
        part.add_file(str(shard))
        writer.upsert_artifact(part, distributed_id="dist-1")
        writer.finish()
    closer = wandb.init(project=project, job_type="shard-finish", group="dist")
    final = wandb.Artifact("dist", type="dataset")
    closer.finish_artifact(final, distributed_id="dist-1")
    closer.finish()
    cold("dist")
    api = wandb.Api()
    got = api.artifact(f"{base}/dist:latest")
    where = pathlib.Path(got.download(root=str(work / "dist")))
    versions = sorted(a.version for a in api.artifacts("dataset", f"{base}/dist"))
    return {
        "versions": versions,
        "files": sorted(p.name for p in where.rglob("*") if p.is_file()),
    }


@flow("offline_sync")
def _():
    os.environ["WANDB_MODE"] = "offline"
    try:
        offline = wandb.init(project=project, job_type="offline")
        off = wandb.Artifact("offline-art", type="dataset")
        off.add_file(str(src / "f.txt"))
        offline.log_artifact(off)
        offline.log({"y": 1})
        run_dir = pathlib.Path(offline.dir).parent
        offline.finish()
    finally:
        os.environ["WANDB_MODE"] = "online"
    synced = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    cold("offline")
    got = wandb.Api().artifact(f"{base}/offline-art:latest")
    where = pathlib.Path(got.download(root=str(work / "offline")))
    return {
        "sync_code": synced.returncode,
        "files": sorted(p.name for p in where.rglob("*") if p.is_file()),
    }


print("RESULT " + json.dumps(out))
