"""The W&B exporter's record format, read and checked (``cairn.wandb_import.export_records``),
and the environment the exporter runs in (``runner.exporter_environment``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cairn.core.ttl import TTL_DISABLED
from cairn.errors import CorruptionError
from cairn.wandb_import.export_records import (
    ExportedVersion,
    RunRef,
    check_header,
    parse_record,
)
from cairn.wandb_import.runner import WandbProject, exporter_environment
from cairn.wandb_import.source import WandbSource

VERSION: dict[str, Any] = {
    "kind": "version",
    "collection": "raw",
    "type": "dataset",
    "index": 2,
    "id": "QXJ0aWZhY3Q6Mw==",
    "digest": "e5f2e205e3290abc318df312c17caeff",
    "digest_algorithm": "MD5",
    "manifest": {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": {
            "a.txt": {"digest": "n5+Q2+Pl7hIYyGuIOdsZlQ==", "size": 6, "birthArtifactID": "x"},
            "r.txt": {"digest": "YizR+P9MTz9wFb0pA6/SEw==", "ref": "file:///r.txt", "size": 11},
        },
    },
    "aliases": ["latest"],
    "tags": ["t"],
    "metadata": {"rows": 3},
    "description": None,
    "ttl": None,
    "created_at": "2026-12-08T01:48:17Z",
    "logged_by": {"entity": "e", "project": "p", "id": "r1"},
    "used_by": [{"entity": "e", "project": "p", "id": "r2"}],
    "links": [
        {"entity": "org", "project": "wandb-registry-model", "collection": "c", "index": 0,
         "aliases": ["staging"]},
        {"entity": "e", "project": "not-a-registry", "collection": "d", "index": 1,
         "aliases": []},
    ],
}  # fmt: skip


def test_a_version_record_is_read_whole() -> None:
    record = parse_record(json.dumps(VERSION))
    assert isinstance(record, ExportedVersion)
    assert (record.index, record.ttl, record.tags) == (2, None, ("t",))
    assert record.logged_by == RunRef("e", "p", "r1")
    assert record.used_by == (RunRef("e", "p", "r2"),)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("index", -1),
        ("index", "2"),
        ("index", True),
        ("ttl", "forever"),
        ("aliases", ["ok", 3]),
        ("manifest", []),
        ("logged_by", {"entity": "e"}),
        ("links", [{"entity": "e"}]),
    ],
)
def test_a_field_of_the_wrong_type_is_refused(field: str, value: Any) -> None:
    with pytest.raises(CorruptionError, match="version record"):
        parse_record(json.dumps({**VERSION, field: value}))


@pytest.mark.parametrize("line", ["not json", "[1]", '{"kind": "nonsense"}'])
def test_a_line_that_is_no_record_is_refused(line: str) -> None:
    with pytest.raises(CorruptionError):
        parse_record(line)


def test_the_header_names_format_and_version() -> None:
    header = {"kind": "header", "format": "cairn-wandb-export", "version": 1, "wandb": "0.31.0"}
    assert check_header(json.dumps(header)) == "0.31.0"
    with pytest.raises(CorruptionError, match="format version 2"):
        check_header(json.dumps({**header, "version": 2}))
    with pytest.raises(CorruptionError, match="no header"):
        check_header(json.dumps(VERSION))


def test_a_version_becomes_a_replication_record() -> None:
    """Inherit/none/seconds TTLs, registry links only, birthArtifactID dropped, the
    reference entry kept as a reference."""
    record = parse_record(json.dumps(VERSION))
    assert isinstance(record, ExportedVersion)
    project = WandbProject("http://w", "k" * 40, "e", "p", "python")
    collection = WandbSource(project)._collection(
        parse_record(json.dumps({"kind": "collection", "name": "raw", "type": "dataset",
                                 "description": None, "tags": []}))  # type: ignore[arg-type]
    )  # fmt: skip
    made = WandbSource._version(collection, record)
    assert made.ttl_seconds == TTL_DISABLED
    assert WandbSource._version(collection, _with(record, ttl="inherit")).ttl_seconds is None
    assert WandbSource._version(collection, _with(record, ttl=60)).ttl_seconds == 60
    assert [(link.registry, link.collection) for link in made.links] == [("model", "c")]
    manifest = json.loads(made.manifest)
    assert manifest["contents"]["a.txt"] == {"digest": "n5+Q2+Pl7hIYyGuIOdsZlQ==", "size": 6}
    assert manifest["contents"]["r.txt"]["ref"] == "file:///r.txt"
    assert (made.logged_by, made.used_by) == (("e", "p", "r1"), (("e", "p", "r2"),))


def _with(record: ExportedVersion, **changes: Any) -> ExportedVersion:
    import dataclasses

    return dataclasses.replace(record, **changes)


def test_the_exporter_environment_keeps_nothing_of_the_parents_wandb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "WANDB_API_KEY": "parent-key",
        "WANDB_BASE_URL": "http://parent",
        "WANDB_ENTITY": "parent",
        "WANDB_CREDENTIALS_FILE": "/parent/creds",
        "CAIRN_API_KEY": "cairn",
        "NETRC": "/parent/.netrc",
    }.items():
        monkeypatch.setenv(name, value)
    project = WandbProject("http://source", "s" * 40, "e", "p", "python")
    env = exporter_environment(project, tmp_path)
    wandb_vars = {k for k in env if k.startswith("WANDB_")}
    assert env["WANDB_API_KEY"] == "s" * 40 and env["WANDB_BASE_URL"] == "http://source"
    assert not {"WANDB_ENTITY", "WANDB_CREDENTIALS_FILE"} & wandb_vars
    assert not [k for k in env if k.startswith("CAIRN_")]
    assert env["HOME"] == str(tmp_path) and env["NETRC"] == str(tmp_path / "no-netrc")
    assert env["WANDB_ERROR_REPORTING"] == "false" and env["WANDB_X_DISABLE_STATS"] == "true"
    assert "s" * 40 not in repr(project)


RUN: dict[str, Any] = {
    "kind": "run", "entity": "e", "project": "p", "id": "r1", "name": "r1",
    "job_type": "train", "state": "finished", "created_at": None,
    "config": {"lr": 0.1}, "summary": {"loss": 0.25},
    "history": [{"_step": 0, "loss": 0.5}, {"_step": 1, "loss": 0.25}],
}  # fmt: skip


def test_a_run_keeps_its_whole_history_or_none() -> None:
    from cairn.wandb_import.export_records import ExportedRun

    record = parse_record(json.dumps(RUN))
    assert isinstance(record, ExportedRun) and record.history is not None
    assert [row["loss"] for row in record.history] == [0.5, 0.25]
    assert WandbSource._run(record).history == record.history
    unread = parse_record(json.dumps({**RUN, "history": None}))
    assert isinstance(unread, ExportedRun) and WandbSource._run(unread).history == ()
    for bad in ([{"loss": 1}], [{"_step": -1}], {"_step": 0}, [1]):
        with pytest.raises(CorruptionError, match="run record"):
            parse_record(json.dumps({**RUN, "history": bad}))
