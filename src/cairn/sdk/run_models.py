"""``log_model``, ``use_model`` and ``link_model``: W&B's model helpers of a run.

They are thin, as in wandb: a model is an artifact of type ``model`` (or any type that
contains ``model``), logged and used as any artifact, and linked into the run entity's
legacy model registry, the portfolio ``<entity>/model-registry/<registered model>``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from cairn.errors import CommError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cairn.sdk.artifact import Artifact


class RunLike(Protocol):
    """What the helpers use of a ``Run``."""

    @property
    def entity(self) -> str: ...

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> Artifact: ...

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact: ...

    def link_artifact(
        self,
        artifact: Artifact,
        target_path: str,
        aliases: str | Iterable[str] | None = None,
    ) -> Artifact: ...

    def _resolve(self, name: str) -> Artifact: ...


class ModelMethods:
    """The model helpers, mixed into ``Run``."""

    def log_model(
        self: RunLike,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: str | Iterable[str] | None = None,
    ) -> None:
        """Log the file, folder or reference at ``path`` as an artifact of type ``model``
        (named ``name``, default ``run-<id>-<basename>``). Raises what ``log_artifact``
        raises."""
        self.log_artifact(path, name=name, type="model", aliases=aliases)

    def use_model(self: RunLike, name: str) -> str:
        """Use the model artifact ``name`` and download it; returns the folder, or its one
        file when it holds a single file.

        Raises ``AssertionError`` (W&B's) when the artifact's type does not contain
        ``model``, and what ``use_artifact`` and ``download`` raise.
        """
        artifact = self.use_artifact(name)
        if "model" not in artifact.type.lower():
            raise AssertionError(
                "You can only use this method for 'model' artifacts. For an artifact to be a "
                "'model' artifact, its type property must contain the substring 'model'."
            )
        root = artifact.download()
        found = os.listdir(root)
        return os.path.join(root, found[0]) if len(found) == 1 else root

    def link_model(
        self: RunLike,
        path: str | os.PathLike[str],
        registered_model_name: str,
        name: str | None = None,
        aliases: str | Iterable[str] | None = None,
    ) -> Artifact | None:
        """Log ``path`` as a model artifact (of the type ``name``'s latest version has, if
        it exists) and link it into the registered model ``<entity>/model-registry/
        <registered_model_name>``, as W&B does; returns the link.

        Raises ``AssertionError`` (W&B's) when ``registered_model_name`` is a path or the
        existing artifact's type does not contain ``model``; what ``log_artifact`` and
        ``link_artifact`` raise.
        """
        if len(registered_model_name.split("/")) != 1:
            raise AssertionError(
                "Please provide only the name of the registered model. Do not append the "
                "entity or project name."
            )
        model_type = "model"
        try:
            existing = self._resolve(f"{name}:latest")
        except (ValueError, CommError):
            existing = None
        if existing is not None:
            if "model" not in existing.type.lower():
                raise AssertionError(
                    "You can only use this method for 'model' artifacts. For an artifact to be "
                    "a 'model' artifact, its type property must contain the substring 'model'."
                )
            model_type = existing.type
        artifact = self.log_artifact(path, name=name, type=model_type)
        target = f"{self.entity}/model-registry/{registered_model_name}"
        return self.link_artifact(artifact, target, aliases=aliases)
