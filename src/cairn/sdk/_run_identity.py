"""What a run is made of: its id, its default name, and the record both the live ``Run``
and ``Api().run()`` read their identity and artifacts from.

W&B generates run ids of 8 lowercase letters and digits and readable names; Cairn does the
same so run code reads unchanged.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from cairn.sdk.artifact import Artifact

if TYPE_CHECKING:
    from cairn.protocol import Backend, RunInfo

_ID_ALPHABET = string.ascii_lowercase + string.digits
_FORBIDDEN_ID_CHARS = set("/\\#?%:\r\n")
_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
    "golden", "hardy", "jolly", "lively", "lucky", "misty", "noble", "proud", "quiet", "rapid",
    "rosy", "silver", "sunny", "swift", "vivid", "wild", "wise", "young",
)  # fmt: skip
_NOUNS = (
    "brook", "canyon", "cloud", "dawn", "dew", "dune", "field", "forest", "frost", "glade",
    "grove", "harbor", "hill", "lake", "meadow", "moon", "night", "ocean", "pine", "rain",
    "river", "sea", "sky", "snow", "star", "stone", "sun", "wave",
)  # fmt: skip


def generate_id(length: int = 8) -> str:
    """A random run id of lowercase letters and digits, as W&B generates them."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def generate_name() -> str:
    """A readable default run name such as ``swift-river-42`` (the number is random)."""
    adjective = secrets.choice(_ADJECTIVES)
    noun = secrets.choice(_NOUNS)
    return f"{adjective}-{noun}-{secrets.randbelow(999) + 1}"


def validate_run_id(run_id: str) -> str:
    if not run_id or len(run_id) > 128 or _FORBIDDEN_ID_CHARS & set(run_id):
        raise ValueError(
            f"Invalid run id {run_id!r}: it must be 1-128 characters and contain none of "
            "/ \\ # ? % : or newlines"
        )
    return run_id


class RecordedRun:
    """A run's stored record (``RunInfo``) and the versions it logged and used; the base of
    the live ``Run`` and of the run ``Api().run(path)`` returns."""

    _backend: Backend | None  # None for a run in "disabled" mode
    _info: RunInfo

    @property
    def id(self) -> str:
        """The run id: 8 lowercase letters and digits unless ``init(id=...)`` chose one."""
        return self._info.id

    @property
    def entity(self) -> str:
        return self._info.entity

    @property
    def project(self) -> str:
        return self._info.project

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def job_type(self) -> str | None:
        return self._info.job_type

    def logged_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The versions this run logged (deleted ones left out), oldest first."""
        return self._run_versions(used=False)

    def used_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The versions this run used, in the order it used them."""
        return self._run_versions(used=True)

    def _run_versions(self, used: bool) -> list[Artifact]:
        if self._backend is None:
            return []
        infos = self._backend.run_versions(self.entity, self.project, self.id, used)
        return [Artifact._from_version(info, self._backend) for info in infos]
