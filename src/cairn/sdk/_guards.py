"""The two state guards of ``Artifact`` members (spec §3.8).

``ensure_logged`` refuses a member on a draft with ``ArtifactNotLoggedError`` and
``ensure_not_finalized`` refuses a mutating member once ``finalize()`` has run with
``ArtifactFinalizedError``. Both name the guarded member as ``'Artifact.<member>'`` (also
when its body lives in a verb module), the message wandb users grep for; both errors are
``AttributeError`` subclasses, so ``hasattr(draft, "entity")`` is False as in wandb.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar

from cairn.errors import ArtifactFinalizedError, ArtifactNotLoggedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.sdk._artifact_state import ArtifactState


class Guarded(Protocol):
    """What the guards read from an artifact."""

    _state: ArtifactState

    def is_draft(self) -> bool: ...


P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Guarded)


def ensure_logged(method: Callable[Concatenate[A, P], R]) -> Callable[Concatenate[A, P], R]:
    """Wrap ``method`` so that it raises ``ArtifactNotLoggedError`` on a draft."""
    fullname = f"Artifact.{method.__name__}"

    @functools.wraps(method)
    def wrapper(self: A, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.is_draft():
            raise ArtifactNotLoggedError(fullname, self)
        return method(self, *args, **kwargs)

    return wrapper


def ensure_not_finalized(
    method: Callable[Concatenate[A, P], R],
) -> Callable[Concatenate[A, P], R]:
    """Wrap ``method`` so that it raises ``ArtifactFinalizedError`` once finalized."""
    fullname = f"Artifact.{method.__name__}"

    @functools.wraps(method)
    def wrapper(self: A, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._state.final:
            raise ArtifactFinalizedError(fullname, self)
        return method(self, *args, **kwargs)

    return wrapper
