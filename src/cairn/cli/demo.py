"""``cairn demo``: Cairn's main job, end to end, on the embedded store.

Generates a small data set, versions it twice, lists the versions, downloads one and
verifies it, saying what it did at each step (``--json``: all of it in one document). It
works on the store commands use, which it names first: the embedded one by default.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import click

from cairn.cli._common import command_options, emit, human_size, plural, version_dict
from cairn.cli._store import say_store


def _write_dataset(root: Path, seed: int, rows: int) -> None:
    """A tiny tabular data set: a CSV split in shards, a label file and a README."""
    rng = random.Random(seed)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    for shard in range(4):
        lines = ["x,y,label"]
        lines += [f"{rng.random():.6f},{rng.random():.6f},{rng.randint(0, 9)}" for _ in range(rows)]
        (root / "shards" / f"part-{shard:03d}.csv").write_text("\n".join(lines) + "\n")
    (root / "labels.txt").write_text("\n".join(str(i) for i in range(10)) + "\n")
    (root / "README.txt").write_text(f"demo data set, seed {seed}\n")


@click.command()
@click.option("--project", default="cairn-demo", show_default=True, help="Project to log into.")
@click.option("--rows", default=250, show_default=True, help="Rows per shard.")
@command_options
def demo(project: str, rows: int, as_json: bool, quiet: bool) -> None:
    """Version a generated data set twice, list the versions, download one and verify it."""
    import cairn
    from cairn.settings import Settings

    say_store(Settings.load(), as_json, quiet)
    human = not as_json
    with tempfile.TemporaryDirectory(prefix="cairn-demo-") as tmp:
        data = Path(tmp) / "data"
        logged = []
        for step, seed in enumerate((1, 2)):
            _write_dataset(data, seed=seed, rows=rows + step * 10)
            with cairn.init(project=project, job_type="prepare") as run:
                art = cairn.Artifact(
                    "demo-dataset",
                    type="dataset",
                    description=f"generated, seed {seed}",
                    metadata={"seed": seed, "rows_per_shard": rows + step * 10},
                )
                art.add_dir(str(data))
                run.log_artifact(art, aliases=["demo"])
            logged.append(version_dict(art))
            if human:
                click.echo(
                    f"logged {art.qualified_name}  {plural(art.file_count, 'file')}  "
                    f"{human_size(art.size)}  digest={art.digest}  "
                    f"aliases={','.join(art.aliases) or '-'}"
                )

    versions = list(cairn.Api().artifacts("dataset", f"{project}/demo-dataset"))
    if human:
        click.echo(f"versions of {logged[0]['source_name'].split(':')[0]}:")
        for v in versions:
            click.echo(
                f"  {v.version:<4} {v.created_at}  {plural(v.file_count, 'file')}  "
                f"aliases={','.join(v.aliases) or '-'}"
            )

    with cairn.init(project=project, job_type="train") as run:
        used = run.use_artifact("demo-dataset:v0")
        path = used.download()
        used.verify(path)
    emit(
        as_json,
        {
            "logged": logged,
            "versions": [version_dict(v) for v in versions],
            "downloaded": path,
            "verified": True,
        },
        lambda: click.echo(f"downloaded {used.qualified_name} to {path} and verified every byte"),
    )
