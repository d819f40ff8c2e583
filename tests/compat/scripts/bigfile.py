"""The multipart upload of the compat suite, run by the official client's own python.

Usage: ``python bigfile.py <workdir> <project> <size> [single]``: writes a file of
``size`` bytes (repeated blocks, streamed to disk), logs it with ``run.log_artifact``
(files of 2 GiB or more go up in parts), downloads it again with a fresh cache (with
``single``, in one GET rather than parallel ranges) and prints what it saw.
"""

import hashlib
import json
import os
import pathlib
import sys

import wandb

work = pathlib.Path(sys.argv[1])
project = sys.argv[2]
size = int(sys.argv[3])
multipart = False if sys.argv[4:] == ["single"] else None
work.mkdir(parents=True, exist_ok=True)
big = work / "big.bin"
block = hashlib.sha256(b"cairn").digest() * (1 << 17)  # 4 MiB
md5 = hashlib.md5()
with open(big, "wb") as out:
    left = size
    counter = 0
    while left:
        chunk = (counter.to_bytes(8, "big") + block)[: min(left, len(block) + 8)]
        out.write(chunk)
        md5.update(chunk)
        left -= len(chunk)
        counter += 1
out_data = {"md5": md5.hexdigest()}

run = wandb.init(project=project, job_type="big")
art = wandb.Artifact("big", type="model")
art.add_file(str(big), policy="immutable")
run.log_artifact(art, aliases=["huge"])
art.wait()
out_data["version"] = art.version
out_data["digest"] = art.digest
out_data["entity"] = run.entity
run.finish()
big.unlink()

os.environ["WANDB_CACHE_DIR"] = str(work / "cache2")
got = wandb.Api().artifact(f"{out_data['entity']}/{project}/big:huge")
where = pathlib.Path(got.download(root=str(work / "dl"), skip_cache=True, multipart=multipart))
md5 = hashlib.md5()
with open(where / "big.bin", "rb") as src:
    for chunk in iter(lambda: src.read(8 << 20), b""):
        md5.update(chunk)
out_data["download"] = {"md5": md5.hexdigest(), "size": (where / "big.bin").stat().st_size}
(where / "big.bin").unlink()
print("RESULT " + json.dumps(out_data))
