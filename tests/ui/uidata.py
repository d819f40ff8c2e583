"""The artifacts the UI tests browse, logged through the SDK (embedded or server mode).

They carry the XSS cases of issue 10 §3: a ``<script>`` in a description, in a metadata
key and value, in a file name, in an alias, in a Table cell and in a project name, in a
run's config, logged metric names and values and summary; an HTML and an SVG file that
must only ever be downloaded.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
XSS_PROJECT = "proj" + XSS


@dataclasses.dataclass(frozen=True)
class Logged:
    entity: str
    project: str
    data_url: str
    model_url: str
    registry_url: str | None


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 40), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def log_all(workdir: Path, project: str = "proj", registry: bool = True) -> Logged:
    """Log ``data`` v0 and v1 (run ``train``), ``model`` v0 (run ``evaluate``, which used
    ``data:v0``), a version in the XSS-named project, and a registry link."""
    import cairn

    src = workdir / "src"
    (src / "sub").mkdir(parents=True, exist_ok=True)
    (src / "a.txt").write_text("hello " + SCRIPT)
    (src / "sub" / "b.json").write_text(json.dumps({"x": [1, 2, {"y": SCRIPT}]}))
    (src / "page.html").write_text(SCRIPT)
    (src / "evil.svg").write_text(f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>')
    (src / f"{XSS}.txt").write_text("named badly")
    (src / "image.png").write_bytes(_png())
    for i in range(120):
        (src / "many" / f"f{i:03d}.txt").parent.mkdir(exist_ok=True)
        (src / "many" / f"f{i:03d}.txt").write_text(str(i))

    run = cairn.init(
        project=project,
        job_type="train",
        name="train",
        config={"lr": 0.01, "note" + SCRIPT: XSS},
    )
    for step in range(40):
        run.log({"loss": 1 / (step + 1), "acc" + XSS: step / 40, "label": SCRIPT})
    run.log({"loss": float("nan")})  # not charted: NaN is no point
    run.summary["best" + SCRIPT] = {"value": XSS}
    art = cairn.Artifact(
        "data",
        type="dataset",
        description=f"# Training data\n\n{SCRIPT} **bold** [click](javascript:alert(1))",
        metadata={"key" + SCRIPT: {"nested": XSS}, "rows": 3},
    )
    art.add_dir(str(src))
    art.add(cairn.Table(columns=["a", "b"], data=[[1, SCRIPT], [2, "two"]]), "tbl")
    run.log_artifact(art, aliases=["best", XSS], tags=["raw"])
    art.wait()
    (src / "a.txt").write_text("changed")
    second = cairn.Artifact("data", type="dataset")
    second.add_dir(str(src))
    run.log_artifact(second)
    run.finish()

    run2 = cairn.init(project=project, job_type="eval", name="evaluate")
    run2.use_artifact("data:v0")
    model = cairn.Artifact("model", type="model", description="A model.")
    (workdir / "m.bin").write_bytes(b"\0\1\2\3")
    model.add_file(str(workdir / "m.bin"))
    run2.log_artifact(model)
    model.wait()
    registry_url = None
    if registry:
        cairn.Api().create_registry(name="models", visibility="organization")
        linked = run2.link_artifact(model, "wandb-registry-models/best-models", aliases=["prod"])
        registry_url = linked.url
    run2.finish()

    run3 = cairn.init(project=XSS_PROJECT, job_type="x", name="x")
    other = cairn.Artifact("other", type="dataset", description=SCRIPT)
    other.add_file(str(workdir / "m.bin"))
    run3.log_artifact(other)
    run3.finish()
    return Logged(
        entity=str(run.entity),
        project=project,
        data_url=art.url,
        model_url=model.url,
        registry_url=registry_url,
    )
