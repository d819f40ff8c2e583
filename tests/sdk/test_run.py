"""Runs: init defaults and settings, the current run, log_artifact, use_artifact, finish."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.errors import CommError, StoreError, UsageError
from cairn.protocol import Backend
from cairn.sdk import run as run_module
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.backend_cache import backend_for
from cairn.sdk.run import Run, current_run, init
from cairn.sdk.run_globals import finish, log_artifact, use_artifact


@pytest.fixture(autouse=True)
def _no_leftover_run(cairn_dir: Path) -> Iterator[None]:
    """Every test starts with no current run and leaves none behind."""
    assert current_run() is None
    yield
    finish()


def _draft(tmp_path: Path, content: str, name: str = "data", type_: str = "dataset") -> Artifact:
    source = tmp_path / "src" / f"{name}-{content}.txt"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(content)
    artifact = Artifact(name, type_)
    artifact.add_file(str(source), name="file.txt")
    return artifact


def _logged_by(artifact: Artifact) -> str | None:
    assert artifact.id is not None
    return backend_for().get_version(artifact.id).logged_by_run_id


def _used(run: Run) -> set[str]:
    """The ids of the versions ``run`` recorded as used, read back from its backend."""
    return {v.id for v in backend_for().run_versions(run.entity, run.project, run.id, used=True)}


# ---------------------------------------------------------------- init


def test_init_defaults_come_from_settings_read_at_init(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    entity = backend.settings.entity
    monkeypatch.setenv("WANDB_PROJECT", "from-wandb-env")
    with init(job_type="prepare", config={"lr": 0.1}) as run:
        assert re.fullmatch(r"[a-z0-9]{8}", run.id)
        assert run.entity == entity
        assert run.project == "from-wandb-env"
        assert run.job_type == "prepare"
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name)
        assert run.config.lr == 0.1 and run.config["lr"] == 0.1
        assert current_run() is run
        assert run.state == "running"
    assert current_run() is None
    assert run.state == "finished"
    stored = Api().run(run.path)
    assert (stored.id, stored.name, stored.job_type) == (run.id, run.name, "prepare")
    assert stored.config == {"lr": 0.1}
    assert stored.state == "finished"


def test_cairn_env_wins_over_wandb_fallback(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "wandb-project")
    monkeypatch.setenv("CAIRN_PROJECT", "cairn-project")
    with init() as run:
        assert run.project == "cairn-project"


def test_default_project_is_uncategorized(backend: Backend) -> None:
    with init() as run:
        assert run.project == "uncategorized"


def test_explicit_arguments_win(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    entity = backend.settings.entity  # a server key may only write to its own teams
    monkeypatch.setenv("CAIRN_ENTITY", "someone-else")
    monkeypatch.setenv("CAIRN_PROJECT", "other")
    with init(project="p", entity=entity, name="my-run", id="abc123", tags=["a"]) as run:
        assert (run.entity, run.project, run.name, run.id) == (entity, "p", "my-run", "abc123")
        assert run.path == f"{entity}/p/abc123"
        assert run.tags == ("a",)


def test_exception_in_with_block_marks_run_failed(backend: Backend) -> None:
    with pytest.raises(RuntimeError, match="boom"), init(project="p") as run:
        raise RuntimeError("boom")
    assert run.state == "failed"
    assert Api().run(run.path).state == "failed"
    assert current_run() is None


def test_finish_is_idempotent_and_module_finish_acts_on_current(backend: Backend) -> None:
    run = init(project="p")
    finish()
    assert run.state == "finished" and current_run() is None
    run.finish(exit_code=3)  # already finished: nothing changes
    assert Api().run(run.path).state == "finished"
    finish()  # no current run: nothing to do


def test_config_accepts_namespace_and_updates(backend: Backend) -> None:
    import argparse

    with init(config=argparse.Namespace(epochs=3, path=Path("/x"))) as run:
        run.config.update({"batch": 8})
        run.config.momentum = 0.9
        # as wandb: values become JSON-friendly when set (a Path its str)
        assert dict(run.config) == {"epochs": 3, "path": "/x", "batch": 8, "momentum": 0.9}
    # updates after init reach the store
    assert Api().run(run.path).config == {"epochs": 3, "path": "/x", "batch": 8, "momentum": 0.9}


def test_reinit_returns_or_finishes_previous(backend: Backend) -> None:
    first = init(project="p")
    assert init(project="other") is first
    second = init(project="p", reinit="finish_previous")
    assert second is not first and first.state == "finished"
    assert current_run() is second
    with pytest.raises(UsageError):
        init(reinit="sometimes")


def test_resume_rules(backend: Backend) -> None:
    with pytest.raises(UsageError, match="resume='must'"):
        init(project="p", id="nope1234", resume="must")
    with init(project="p", id="fixed001", name="original", config={"a": 1}) as run:
        pass
    with pytest.raises(UsageError, match="resume='never'"):
        init(project="p", id="fixed001", resume="never")
    with init(project="p", id="fixed001", resume="allow", config={"b": 2}) as again:
        assert again.name == "original"
        assert dict(again.config) == {"a": 1, "b": 2}
        assert Api().run(run.path).state == "running"
    assert Api().run(run.path).state == "finished"


def test_rewinding_and_forking_are_refused_not_ignored(backend: Backend) -> None:
    with init(project="p", id="base0001") as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
    for argument in ("resume_from", "fork_from"):
        with pytest.raises(UsageError, match=f"^{argument} is not supported"):
            init(project="p", **{argument: "base0001?_step=0"})
        assert current_run() is None
    assert [row["loss"] for row in Api().run(run.path).history(pandas=False)] == [1.0, 0.5]


def test_invalid_inputs_are_refused(backend: Backend) -> None:
    with pytest.raises(ValueError):
        init(project="a/b")
    with pytest.raises(ValueError, match="Invalid run id"):
        init(id="has:colon")
    with pytest.raises(UsageError, match="mode"):
        init(mode="sideways")
    assert current_run() is None


def test_unusable_cairn_dir_is_named(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded only: the local store's directory is what fails and must be named."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("CAIRN_DIR", str(blocker))
    with pytest.raises(StoreError, match=re.escape(str(blocker))):
        init(project="p")
    assert current_run() is None


def test_offline_mode_writes_to_the_store(backend: Backend, tmp_path: Path) -> None:
    with init(project="p", mode="offline") as run:
        logged = run.log_artifact(_draft(tmp_path, "offline"))
    assert logged.name == "data:v0"
    assert Api().artifact("p/data:v0").digest == logged.digest


def test_disabled_mode_records_nothing(backend: Backend, tmp_path: Path) -> None:
    with init(project="p", mode="disabled") as run:
        assert run.disabled
        draft = _draft(tmp_path, "x")
        assert run.log_artifact(draft) is draft
        assert draft.is_draft()
    assert not Api().artifact_exists("p/data:latest")
    with pytest.raises(CommError):
        Api().run(run.path)


# ---------------------------------------------------------------- log_artifact


def test_log_artifact_versions_and_aliases(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as run:
        first = run.log_artifact(_draft(tmp_path, "one"), aliases=["best"], tags=["raw"])
        second = run.log_artifact(_draft(tmp_path, "two"))
    assert (first.name, first.version) == ("data:v0", "v0")
    assert (second.name, second.version) == ("data:v1", "v1")
    assert set(Api().artifact("p/data:v0").aliases) == {"best"}
    assert set(Api().artifact("p/data:v1").aliases) == {"latest"}
    assert Api().artifact("p/data:best").tags == ["raw"]
    assert _logged_by(second) == run.id


def test_log_artifact_from_paths(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.txt").write_text("a")
    with init(project="p") as run:
        from_file = run.log_artifact(str(tmp_path / "weights.bin"))
        from_dir = run.log_artifact(tmp_path / "folder", type="dataset")
        named = run.log_artifact(str(tmp_path / "folder"), name="named", type="model")
    assert from_file.name == f"run-{run.id}-weights.bin:v0"
    assert from_file.type == "unspecified"
    assert [e for e in from_file.manifest.entries] == ["weights.bin"]
    assert from_dir.name == f"run-{run.id}-folder:v0" and from_dir.type == "dataset"
    assert [e for e in from_dir.manifest.entries] == ["a.txt"]
    assert (named.name, named.type) == ("named:v0", "model")


def test_log_artifact_from_reference_path(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "ref.bin").write_bytes(b"ref")
    with init(project="p") as run:
        logged = run.log_artifact(f"file://{tmp_path / 'ref.bin'}")
    assert logged.name == f"run-{run.id}-ref.bin:v0"
    (entry,) = logged.manifest.entries.values()
    assert entry.ref == f"file://{tmp_path / 'ref.bin'}"


def test_bad_input_to_log_artifact_writes_nothing(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as run:
        with pytest.raises(ValueError, match="path must be a file, directory"):
            run.log_artifact(str(tmp_path / "missing"))
        with pytest.raises(ValueError, match="Aliases must not contain"):
            run.log_artifact(_draft(tmp_path, "a"), aliases=["bad/alias"])
        with pytest.raises(ValueError, match="Invalid tag"):
            run.log_artifact(_draft(tmp_path, "b"), tags=["no.dots"])
        with pytest.raises(ValueError, match=r"instance of wandb\.Artifact"):
            run.log_artifact(42)  # type: ignore[arg-type]
    assert not Api().artifact_collection_exists("p/data", "dataset")


def test_same_name_with_another_type_is_refused(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as run:
        run.log_artifact(_draft(tmp_path, "one"))
        with pytest.raises(ValueError, match="already exists with type 'dataset'"):
            run.log_artifact(_draft(tmp_path, "two", type_="model"))


def test_log_artifact_on_finished_run_is_a_usage_error(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as run:
        pass
    with pytest.raises(UsageError, match=rf"Run \({run.id}\) is finished"):
        run.log_artifact(_draft(tmp_path, "late"))
    with pytest.raises(UsageError, match="use_artifact"):
        run.use_artifact("data:latest")


def test_module_log_artifact_without_run_uses_an_auto_run(backend: Backend, tmp_path: Path) -> None:
    logged = log_artifact(_draft(tmp_path, "auto"))
    assert current_run() is None
    assert logged.name == "data:v0" and logged.project == "uncategorized"
    run_id = _logged_by(logged)
    assert run_id is not None
    auto = Api().run(f"uncategorized/{run_id}")
    assert (auto.job_type, auto.state) == ("auto", "finished")


def test_module_helpers_act_on_the_current_run(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="init"):
        use_artifact("data:latest")
    with init(project="p") as run:
        logged = log_artifact(_draft(tmp_path, "m"))
        used = use_artifact("data:latest")
    assert _logged_by(logged) == run.id
    assert used.id in _used(run)


# ---------------------------------------------------------------- use_artifact


def test_use_artifact_name_forms_record_usage(backend: Backend, tmp_path: Path) -> None:
    entity = backend.settings.entity
    with init(project="p") as producer:
        producer.log_artifact(_draft(tmp_path, "v"), aliases=["best"])
    with init(project="p") as run:
        for name in ("data", "data:best", "data:v0", "p/data:latest", f"{entity}/p/data:v0"):
            used = run.use_artifact(name, type="dataset")
            assert used.name == "data:v0"
            assert used.qualified_name == f"{entity}/p/data:v0"
    assert _used(run) == {used.id}


def test_use_artifact_resolves_other_projects(backend: Backend, tmp_path: Path) -> None:
    entity = backend.settings.entity
    with init(project="source") as producer:
        producer.log_artifact(_draft(tmp_path, "s"))
    with init(project="consumer") as run:
        assert run.use_artifact("source/data:latest").project == "source"
        with pytest.raises(CommError, match=f"{entity}/consumer/data:latest"):
            run.use_artifact("data:latest")


def test_use_artifact_errors(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as run:
        run.log_artifact(_draft(tmp_path, "e"))
        with pytest.raises(ValueError, match="Supplied type model does not match type dataset"):
            run.use_artifact("data:latest", type="model")
        with pytest.raises(CommError, match="data:v7"):
            run.use_artifact("data:v7")
        with pytest.raises(ValueError):
            run.use_artifact("a/b/c/d:latest")
        with pytest.raises(ValueError, match="You must pass an artifact name"):
            run.use_artifact(3)  # type: ignore[arg-type]
    assert _used(run) == set()


def test_use_artifact_logs_a_draft_first(backend: Backend, tmp_path: Path) -> None:
    draft = _draft(tmp_path, "d")
    with init(project="p") as run:
        used = run.use_artifact(draft, aliases=["input"])
    assert used is draft and not draft.is_draft()
    assert draft.name == "data:v0"
    assert set(draft.aliases) == {"latest", "input"}
    assert draft.id in _used(run)


def test_use_artifact_of_fetched_artifact(backend: Backend, tmp_path: Path) -> None:
    with init(project="p") as producer:
        producer.log_artifact(_draft(tmp_path, "f"))
    fetched = Api().artifact("p/data:latest")
    with init(project="p") as run:
        assert run.use_artifact(fetched) is fetched
    assert fetched.id in _used(run)


def test_current_run_holder_is_module_global(backend: Backend) -> None:
    with init(project="p") as run:
        assert run_module.current_run() is run
    assert run_module.current_run() is None
