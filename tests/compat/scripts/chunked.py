"""The official client's side of the chunked-file compat tests, run by its own python.

Usage: ``python chunked.py log <file> <project> <name>`` logs the file as ``weights.bin``
of artifact ``name``; ``python chunked.py get <entity/project/name:alias> <root>``
downloads it with an empty cache (``WANDB_CACHE_DIR`` must be fresh). Prints ``RESULT``
and what it saw (the MD5 and size of the file).
"""

import hashlib
import json
import pathlib
import sys

import wandb

mode = sys.argv[1]
out = {}
if mode == "log":
    path, project, name = sys.argv[2:5]
    run = wandb.init(project=project, job_type="chunked")
    art = wandb.Artifact(name, type="model")
    art.add_file(path, name="weights.bin")
    run.log_artifact(art)
    art.wait()
    out = {"version": art.version, "entity": run.entity}
    run.finish()
else:
    ref, root = sys.argv[2:4]
    where = pathlib.Path(wandb.Api().artifact(ref).download(root=root))
    data = (where / "weights.bin").read_bytes()
    out = {"md5": hashlib.md5(data).hexdigest(), "size": len(data)}
print("RESULT " + json.dumps(out))
