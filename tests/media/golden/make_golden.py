"""Build the media golden files with the real ``wandb`` package (issue 4).

Run ``python tests/media/golden/make_golden.py``. It creates a throwaway virtual
environment, installs the pinned ``wandb``, Pillow and helpers from PyPI into it, and
re-runs itself there with ``--generate``: each fixed input below is added to an offline
``wandb.Artifact`` and every file the artifact staged (the ``<name>.<type>.json`` files and
the media files they point at) is copied under ``tests/media/golden/<case>/`` with its
artifact path. ``index.json`` lists, per case, the entries with their digests and sizes.
Nothing talks to a W&B server (``WANDB_MODE=offline``, telemetry off).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PINS = [
    "wandb==0.31.0",
    "pillow==11.3.0",
    "numpy==2.2.6",
    "pandas==2.2.3",
    "soundfile==0.13.1",
    "bokeh==3.7.3",
]
ENV = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_ERROR_REPORTING": "false",
    "WANDB_DISABLE_CODE": "true",
}


def _bootstrap(keep: str | None) -> None:
    """Create the venv (or reuse ``keep``), install the pins, run ``--generate`` inside it."""
    with tempfile.TemporaryDirectory(prefix="cairn-golden-") as tmp:
        env_dir = Path(keep) if keep else Path(tmp) / "venv"
        if not (env_dir / "bin" / "python").exists():
            venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS],
            check=True,
        )
        env = {**os.environ, **ENV}
        for key in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR"):
            env[key] = str(Path(tmp) / key.lower())
        subprocess.run([str(python), __file__, "--generate"], check=True, env=env, cwd=tmp)


def fixed_inputs(wandb: Any) -> dict[str, Any]:
    """The values added to the artifacts, one case each (deterministic).

    ``wandb`` is the ``wandb`` module here, and ``cairn`` in the tests, which build the same
    values with Cairn and compare the results with the files written here.
    """
    import bokeh.plotting
    import numpy as np
    from PIL import Image as PILImage

    types = getattr(wandb, "data_types", wandb)

    tmp = Path(tempfile.mkdtemp(prefix="cairn-golden-inputs-"))
    gradient = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    mask = np.array([[0, 1, 1, 0, 2, 2]] * 4, dtype=np.uint8)
    class_labels = {0: "background", 1: "cat", 2: "dog"}
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.6},
                    "class_id": 1,
                    "box_caption": "cat",
                    "scores": {"acc": 0.9},
                },
                {
                    "position": {"middle": [3, 2], "width": 2, "height": 2},
                    "domain": "pixel",
                    "class_id": 2,
                },
            ],
            "class_labels": class_labels,
        }
    }
    png_path = tmp / "photo.png"
    PILImage.fromarray(gradient).save(png_path)
    frames = [PILImage.fromarray(np.full((8, 8, 3), 40 * i, dtype=np.uint8)) for i in range(3)]
    gif_path = tmp / "clip.gif"
    frames[0].save(gif_path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    samples = (np.sin(np.linspace(0, 8 * np.pi, 800)) * 0.5).astype(np.float32)
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.5]], dtype=np.float64)
    image_plain = types.Image(gradient, caption="cap")
    table = types.Table(columns=["id", "name", "score"], data=[[1, "a", 0.5], [2, "b", None]])
    media_table = types.Table(columns=["id", "image"])
    media_table.add_data(1, types.Image(gradient))
    media_table.add_data(2, types.Image(gradient[:, ::-1].copy()))
    left = types.Table(columns=["id", "x"], data=[[1, 1.5], [2, 2.5]])
    right = types.Table(columns=["id", "y"], data=[[1, "p"], [2, "q"]])
    figure = bokeh.plotting.figure(title="line")
    figure.line([1, 2, 3], [4, 6, 5])
    return {
        "table": table,
        "table_types": types.Table(
            columns=["i", "f", "s", "b", "l"],
            data=[[1, 1.5, "x", True, [1, 2]], [2, 2.5, "y", False, [3]]],
        ),
        "table_media": media_table,
        "image_array": image_plain,
        "image_path": types.Image(str(png_path)),
        "image_pil_gray": types.Image(PILImage.fromarray(mask * 100).convert("L")),
        "image_float": types.Image(np.linspace(0, 1, 16).reshape(4, 4)),
        "image_masks_boxes": types.Image(
            gradient,
            masks={"predictions": {"mask_data": mask, "class_labels": class_labels}},
            boxes=boxes,
            classes=[{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        ),
        "classes": types.Classes([{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]),
        "html": types.Html("<h1>hello</h1>"),
        "html_inject": types.Html("<p>x</p>", inject=False),
        "audio": types.Audio(samples, sample_rate=8000, caption="sine"),
        "video_gif": types.Video(str(gif_path), caption="clip"),
        "object3d_points": types.Object3D(points),
        "joined": types.JoinedTable(left, right, "id"),
        "partitioned": types.PartitionedTable("parts"),
        "bokeh": types.Bokeh(figure),
    }


def _generate() -> None:
    """Add each fixed input to an offline artifact and copy the staged files here."""
    import wandb

    index: dict[str, Any] = {"wandb": wandb.__version__, "cases": {}}
    for case, value in fixed_inputs(wandb).items():
        artifact = wandb.Artifact(f"golden-{case.replace('_', '-')}", type="dataset")
        artifact.add(value, case)
        out = HERE / case
        if out.exists():
            shutil.rmtree(out)
        entries = {}
        for path, entry in sorted(artifact.manifest.entries.items()):
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.local_path, target)
            entries[path] = {"digest": entry.digest, "size": entry.size}
        index["cases"][case] = entries
    (HERE / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    if "--generate" in sys.argv:
        _generate()
    else:
        # ``--venv DIR`` keeps the virtual environment in DIR for the next run.
        _bootstrap(sys.argv[sys.argv.index("--venv") + 1] if "--venv" in sys.argv else None)
