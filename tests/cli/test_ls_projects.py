"""``cairn ls`` lists the projects (with their version counts), and a registry is named
one way everywhere: by the organization's entity."""

from __future__ import annotations

from pathlib import Path

from clirun import ok, ok_json


def _put(tmp_path: Path, name: str, project: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    ok("put", str(path), "--project", project)


def test_ls_lists_projects_with_version_counts(cairn_dir: Path, tmp_path: Path) -> None:
    assert ok("ls").splitlines() == [
        f"embedded store {cairn_dir}",
        "no projects yet (`cairn put PATH` logs a first version)",
    ]
    assert ok_json("ls") == []
    _put(tmp_path, "a.txt", "alpha", "1")
    _put(tmp_path, "a.txt", "alpha", "2")
    _put(tmp_path, "b.txt", "beta", "1")
    assert ok("ls").splitlines()[1:] == ["tester/alpha  2 versions", "tester/beta  1 version"]
    rows = ok_json("ls")
    assert [(r["name"], r["entity"], r["project"], r["versions"]) for r in rows] == [
        ("tester/alpha", "tester", "alpha", 2),
        ("tester/beta", "tester", "beta", 1),
    ]
    assert "tester/beta/b.txt  dataset  1 version  aliases=latest" in ok("ls", "beta")
    assert ok("ls", "alpha", "--quiet").splitlines() == [
        "tester/alpha/a.txt  dataset  2 versions  aliases=latest"
    ]


def test_a_registry_prints_as_the_organization_names_it(cairn_dir: Path, tmp_path: Path) -> None:
    _put(tmp_path, "model.bin", "proj", "weights")
    ok("link", "proj/model.bin:v0", "wandb-registry-model/big", "--alias", "prod")
    listed = ok_json("ls", "wandb-registry-model")
    shown = ok_json("show", "wandb-registry-model/big:prod")
    assert [row["name"] for row in listed] == ["local/wandb-registry-model/big"]
    assert shown["name"] == "local/wandb-registry-model/big:v0"
    assert "local/wandb-registry-model  1 version" in ok("ls")
    assert "tester/wandb-registry-model" not in ok("ls", "wandb-registry-model")
