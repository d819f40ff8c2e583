"""What ``cairn sync`` copied from an offline embedded store to a server, read by the
official wandb client with an empty cache: versions, digests, files, aliases, tags,
metadata, descriptions, created-at, TTL, lineage, the registry link and a run's history."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

import cairn.connect  # noqa: F401  (registers the backends)
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings
from clirun import ok_json
from compat.test_flows import run_wandb
from compat.wandb_tools import NEWEST, wandb_env
from replication_seed import PROJECT, seed

if TYPE_CHECKING:
    from pathlib import Path

    from serverproc import ServerProcess


def test_the_official_client_reads_what_sync_copied(
    cairn_dir: Path,
    tmp_path: Path,
    wandb_pythons: dict[str, Path],
    wandb_server: ServerProcess,
) -> None:
    seed(tmp_path)
    team = wandb_server.new_team(f"sync{secrets.token_hex(2)}")
    env = {"CAIRN_BASE_URL": wandb_server.url, "CAIRN_API_KEY": wandb_server.admin_key}
    summary = ok_json("sync", PROJECT, "--entity-map", f"tester={team}", env=env)
    assert summary["versions"] == 4
    here = EmbeddedBackend(Settings.load({"cairn_dir": cairn_dir, "base_url": None}))
    model = here.resolve_version("tester", PROJECT, "model", "v0")
    link = here.list_links(model.id, 10)[0]
    wandb_home = tmp_path / "wandb-home"  # an empty client cache
    out = run_wandb(
        wandb_pythons[NEWEST],
        "read_synced.py",
        wandb_env(wandb_server, wandb_home, wandb_server.admin_key),
        str(tmp_path / "work"),
        team,
        PROJECT,
        "local" if link.entity == "local" else link.entity,
    )
    for name, index in (("data", 0), ("data", 1), ("data", 2), ("model", 0)):
        a = here.resolve_version("tester", PROJECT, name, f"v{index}")
        seen = out[f"{name}:v{index}"]
        assert (seen["version"], seen["digest"]) == (f"v{index}", a.digest)
        assert seen["aliases"] == sorted(a.aliases)
        assert (seen["tags"], seen["metadata"]) == (sorted(a.tags), a.metadata)
        assert seen["description"] == a.description
        assert seen["created_at"].rstrip("Z")[:19] == a.created_at.rstrip("Z")[:19]
        assert seen["ttl"] == (None if a.ttl_is_inherited else a.ttl_duration_seconds)
        assert seen["logged_by"] == ("r1" if name == "data" else "r2")
        assert seen["used_by"] == (["r2"] if "best" in a.aliases else [])
        assert (
            seen["files"]["data.txt"]
            == hashlib.md5(f"{'abcm'[index if name == 'data' else 3]}".encode() * 100).hexdigest()
        )
    assert out["link"]["digest"] == model.digest and "prod" in out["link"]["aliases"]
    assert out["r1"] == {"config": {"lr": 0.1}, "loss": [1.0, 0.5, 1 / 3]}
