"""An offline history to copy: versions logged into the embedded store of ``CAIRN_DIR``
by two runs, with aliases, tags, metadata, a TTL, a registry link and lineage."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import cairn

if TYPE_CHECKING:
    from pathlib import Path

PROJECT = "offline"


def _draft(tmp_path: Path, name: str, type_: str, content: str) -> cairn.Artifact:
    folder = tmp_path / "src" / f"{name}-{content}"
    folder.mkdir(parents=True)
    (folder / "data.txt").write_text(content * 100)
    (folder / "same.txt").write_text("shared by every version")
    art = cairn.Artifact(name, type_, description=f"{name} {content}", metadata={"n": content})
    art.add_dir(str(folder))
    return art


def seed(tmp_path: Path, registry: str = "model") -> None:
    """``data`` v0..v2 (aliases raw/best, tags, a TTL on v2; the collection described and
    tagged) logged by run ``r1`` (config,
    history, summary); run ``r2`` uses ``data:best`` and logs ``model`` v0, linked into
    ``registry`` with the alias ``prod``."""
    with cairn.init(project=PROJECT, id="r1", job_type="prep", config={"lr": 0.1}) as run:
        for step in range(3):
            run.log({"loss": 1.0 / (step + 1)})
        run.log_artifact(_draft(tmp_path, "data", "dataset", "a"), aliases=["raw"])
        second = run.log_artifact(_draft(tmp_path, "data", "dataset", "b"), aliases=["best"])
        second.wait()
        second.tags = ["golden"]
        second.save()
        third = _draft(tmp_path, "data", "dataset", "c")
        third.ttl = timedelta(days=30)
        run.log_artifact(third)
    collection = cairn.Api().artifact_collection("dataset", f"{PROJECT}/data")
    collection.description = "every version of the data"
    collection.tags = ["raw-data"]
    collection.save()
    with cairn.init(project=PROJECT, id="r2", job_type="train") as run:
        used = run.use_artifact("data:best")
        used.download()
        model = run.log_artifact(_draft(tmp_path, "model", "model", "m"), aliases=["candidate"])
        model.wait()
        run.link_artifact(model, f"wandb-registry-{registry}/champions", aliases=["prod"])
