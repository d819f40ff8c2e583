"""The rules of ``cairn.service`` hold for the official wandb client as for Cairn's SDK
(issue 18): ``Artifact(..., incremental=True)`` is merged onto the latest version by the
server (the files a version names replace its base's, the others are kept), and an alias,
a tag or a type the client lets through but a store cannot keep is refused by the server
with the message Cairn's SDK gives before it sends anything.

Each pinned release runs ``scripts/rules.py`` as a plain user against the SQLite +
directory server, the newest also against PostgreSQL + S3; everything is read back with a
fresh, empty client cache.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import pytest

from compat.test_flows import plain_user, run_wandb, use_cairn
from compat.wandb_tools import NEWEST, VERSIONS, wandb_env
from serverproc import ServerProcess

BAD_ALIAS = "a" * 129  # wandb's client checks only '/' and ':'
BAD_TAG = "t" * 129  # matches wandb's tag pattern, but no store keeps a tag that long
BAD_TYPE = "data\tset"  # wandb's client checks only reserved types


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _sdk_refusals(cairn: Any, project: str, work: Path) -> dict[str, str]:
    """What Cairn's SDK, on the same server, says to the same bad values."""
    (work / "x.txt").parent.mkdir(parents=True, exist_ok=True)
    (work / "x.txt").write_text("x\n")
    said = {}
    run = cairn.init(project=project, job_type="cairn-rules")
    cases = {
        "bad_alias": ("dataset", {"aliases": [BAD_ALIAS]}),
        "bad_tag": ("dataset", {"tags": [BAD_TAG]}),
        "bad_type": (BAD_TYPE, {}),
    }
    for case, (type_, kwargs) in cases.items():
        with pytest.raises(ValueError) as refused:
            art = cairn.Artifact(f"cairn-{case.replace('_', '-')}", type=type_)
            art.add_file(str(work / "x.txt"))
            run.log_artifact(art, **kwargs)
        said[case] = str(refused.value)
    run.finish()
    return said


def check_rules(
    server: ServerProcess,
    python: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
) -> None:
    user = f"wr-{label}-{secrets.token_hex(3)}"
    key = plain_user(server, user)
    project = "rules"
    env = wandb_env(server, tmp_path / "home", key)
    out = run_wandb(
        python,
        "rules.py",
        env,
        str(tmp_path / "work"),
        project,
        BAD_ALIAS,
        BAD_TAG,
        BAD_TYPE,
    )

    incremental = out["incremental"]
    assert "error" not in incremental, f"{incremental['error']}\n{incremental['trace']}"
    # v1 named only c.txt: the server kept v0's a.txt and b.txt (spec §4.10); v2 named
    # only a new b.txt, which replaced v1's
    a, b, c = _md5("file a\n"), _md5("file b\n"), _md5("file c\n")
    assert incremental == {
        "version": "v1",
        "files": {"a.txt": a, "b.txt": b, "c.txt": c},
        "v0_files": ["a.txt", "b.txt"],
        "v2_files": {"a.txt": a, "b.txt": _md5("file b, changed\n"), "c.txt": c},
    }

    said = _sdk_refusals(use_cairn(server, monkeypatch, key, user), project, tmp_path)
    assert said == {
        "bad_alias": f"Invalid alias '{BAD_ALIAS[:100]}'...: aliases must be 1 to 128 characters "
        "long",
        "bad_tag": f"Invalid tag '{BAD_TAG[:40]}'...: tags are at most 128 long",
        "bad_type": f"Invalid artifact type {BAD_TYPE!r}: artifact types cannot contain control "
        "characters or lone surrogates (found '\\t')",
    }
    for case, message in said.items():
        answer = out[case]
        assert "error" in answer, f"{case}: the server logged it: {answer}"
        assert message in answer["error"], f"{case}: {answer['error']}"


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS, ids=[f"wandb-{v}" for v in VERSIONS])
def test_wandb_client_meets_the_service_rules(
    version: str,
    wandb_pythons: dict[str, Path],
    wandb_server: ServerProcess,
    tmp_path: Path,
    cairn_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    label = version.replace(".", "-")
    check_rules(wandb_server, wandb_pythons[version], tmp_path, monkeypatch, label)


@pytest.mark.slow
def test_wandb_client_meets_the_service_rules_postgres_s3(
    wandb_pythons: dict[str, Path],
    cairn_server_pg: ServerProcess,
    tmp_path: Path,
    cairn_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_rules(cairn_server_pg, wandb_pythons[NEWEST], tmp_path, monkeypatch, "pg-s3")
