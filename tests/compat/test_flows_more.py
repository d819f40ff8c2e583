"""The official wandb client's flows around artifacts beyond logging and reading (issue 17),
each asserting what W&B gives: files by entry and path, ``wandb-artifact://`` references,
types and ``wandb artifact ls``, lineage, runs and history, run filters, collection edits,
registries, resuming and rewinding runs, incremental and distributed versions, offline sync.

Each pinned release runs ``scripts/flows_more.py`` as a plain user against the SQLite +
directory server, the newest also against PostgreSQL + S3; everything is read back with a
fresh, empty client cache.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import pytest

from compat.test_flows import plain_user, run_wandb
from compat.wandb_tools import NEWEST, VERSIONS, wandb_env
from serverproc import ServerProcess

F_TXT = hashlib.md5(b"first file\n").hexdigest()
G_TXT = hashlib.md5(b"second file\n").hexdigest()


def _ok(out: dict[str, Any], flow: str) -> dict[str, Any]:
    """The flow's result; fails with the client's error and trace when it raised."""
    result = out[flow]
    assert "error" not in result, f"{flow}: {result.get('error')}\n{result.get('trace')}"
    return dict(result)


def check_more_flows(server: ServerProcess, python: Path, tmp_path: Path, label: str) -> None:
    user = f"wm-{label}-{secrets.token_hex(3)}"
    key = plain_user(server, user)
    project = f"more-{label}"
    env = wandb_env(server, tmp_path / "home", key)
    out = run_wandb(
        python, "flows_more.py", env, str(tmp_path / "work"), project, "wandb-registry-model"
    )
    assert out["entity"] == user

    entry = _ok(out, "entry_download")
    assert (entry["entry"], entry["path"]) == (F_TXT, G_TXT)
    assert _ok(out, "file")["file"] == F_TXT
    assert _ok(out, "artifact_reference") == {"files": {"f.txt": F_TXT}}

    types = _ok(out, "types")
    assert types["types"] == ["dataset", "model"]
    assert types["collections"] == ["refers", "things"]
    assert types["ls_code"] == 0, types["ls"]
    for name in ("things:v0", "refers:v0", "one:v0"):
        assert name in types["ls"], types["ls"]

    lineage = _ok(out, "lineage")
    assert lineage["logged_by"] == lineage["want_logged_by"]
    assert lineage["used_by"] == lineage["want_used_by"]

    runs = _ok(out, "runs")
    assert len(runs["runs"]) >= 3  # the logging run, the single-file run, the user...
    assert runs["config_lr"] == 0.1
    assert runs["history_loss"] == pytest.approx([1.0, 0.5, 1 / 3])
    assert runs["logged"] == ["things:v0"]
    assert project in runs["projects"]

    # filtered by the server (W&B's MongoDB-style queries), paged one run at a time
    filtered = _ok(out, "run_filters")
    refused = filtered.pop("refused")
    assert filtered == {
        "all": {"names": ["filt-a", "filt-b", "filt-c"], "count": 3},
        "lr": {"names": ["filt-a"], "count": 1},
        "acc": {"names": ["filt-a", "filt-c"], "count": 2},
        "or": {"names": ["filt-b", "filt-c"], "count": 2},
        "and": {"names": ["filt-b"], "count": 1},
    }
    assert refused is not None and "Unknown run filter operator '$near'" in refused, refused

    assert _ok(out, "collection_edits") == {
        "description": "described",
        "tags": ["t1", "t2"],
        "renamed": "coll-renamed",
        "type": "model",
        "deleted": True,
    }
    registry = _ok(out, "registry")
    assert "model" in registry["registries"] and registry["registry"] == "model"
    assert _ok(out, "registry_alias") == {"aliases": ["champion", "latest"]}

    assert _ok(out, "resume") == {
        "step_after_must": 3,
        "history": [1, 2, 3, 4],
        "never_refused": True,
        "must_missing_refused": True,
    }
    # rewound to step 2: the steps after it are gone, logging goes on after it
    assert _ok(out, "rewind") == {"history": [[0, 0], [1, 1], [2, 2], [3, 100]], "summary_x": 100}
    assert _ok(out, "incremental") == {"version": "v1", "files": ["extra.txt", "f.txt", "g.txt"]}
    assert _ok(out, "distributed") == {"versions": ["v0"], "files": ["shard0.txt", "shard1.txt"]}
    assert _ok(out, "offline_sync") == {"sync_code": 0, "files": ["f.txt"]}


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS, ids=[f"wandb-{v}" for v in VERSIONS])
def test_wandb_more_flows(
    version: str, wandb_pythons: dict[str, Path], wandb_server: ServerProcess, tmp_path: Path
) -> None:
    check_more_flows(wandb_server, wandb_pythons[version], tmp_path, version.replace(".", "-"))


@pytest.mark.slow
def test_wandb_more_flows_postgres_s3(
    wandb_pythons: dict[str, Path], cairn_server_pg: ServerProcess, tmp_path: Path
) -> None:
    check_more_flows(cairn_server_pg, wandb_pythons[NEWEST], tmp_path, "pg-s3")
