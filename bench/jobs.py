"""The timed jobs: one child process each, for Cairn, the peers and the shell baselines.

A Python job prints one JSON line ``{"seconds": ...}`` last: the time of the operation
itself, measured inside the child after its imports and ``init`` (for Cairn's "add" job
``add_dir`` + ``log_artifact``; for wandb's ``Artifact.add_dir`` alone, the figure the
targets compare with); ``total`` adds the imports, ``init`` and ``finish``. A shell job
(``md5sum``, ``cp -r``) and an import job are timed
from the parent, start to exit. Peak RSS comes from ``os.wait4`` on that child, which
includes the child's own children.
"""

from __future__ import annotations

CAIRN_ADD = """
import json, sys, time
t0 = time.perf_counter()
import cairn
data, name = sys.argv[1], sys.argv[2]
run = cairn.init(project="bench", job_type="bench")
t1 = time.perf_counter()
artifact = cairn.Artifact(name, "dataset")
artifact.add_dir(data)
run.log_artifact(artifact)
t2 = time.perf_counter()
run.finish()
print(json.dumps({"seconds": t2 - t1, "total": time.perf_counter() - t0}))
"""

CAIRN_DOWNLOAD = """
import json, sys, time
t0 = time.perf_counter()
import cairn
name, dest = sys.argv[1], sys.argv[2]
cairn.Api().artifact(f"bench/{name}:latest").download(root=dest)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

WANDB_ADD = """
import json, sys, time
import wandb
data, name = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
run = wandb.init(project="bench", job_type="bench", mode="offline")
artifact = wandb.Artifact(name, "dataset")
t1 = time.perf_counter()
artifact.add_dir(data)
t2 = time.perf_counter()
run.log_artifact(artifact)
run.finish()
print(json.dumps({"seconds": t2 - t1, "total": time.perf_counter() - t0}))
"""

DVC_ADD = """
import json, sys, time
from dvc.repo import Repo
repo_root, target = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
with Repo(repo_root) as repo:
    repo.add(target)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

# The same timed figure without the untimed offline log_artifact + finish (``--quick``).
WANDB_ADD_ONLY = """
import json, sys, time
import wandb
data, name = sys.argv[1], sys.argv[2]
run = wandb.init(project="bench", job_type="bench", mode="offline")
artifact = wandb.Artifact(name, "dataset")
t1 = time.perf_counter()
artifact.add_dir(data)
t2 = time.perf_counter()
run.finish()
print(json.dumps({"seconds": t2 - t1}))
"""

MLFLOW_ADD = """
import json, sys, time
import mlflow
data = sys.argv[1]
t0 = time.perf_counter()
with mlflow.start_run():
    mlflow.log_artifacts(data)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

IMPORTS = {
    "cairn": "import cairn",
    "wandb": "import wandb",
    "mlflow": "import mlflow",
    "dvc": "import dvc.api",
}
