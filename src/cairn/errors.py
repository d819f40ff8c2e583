"""The one exception tree of Cairn.

Names and base classes follow ``wandb.errors`` and ``wandb.sdk.artifacts.exceptions`` so
``except`` clauses written for wandb keep working: validation problems are ``ValueError``,
artifact state problems are ``AttributeError`` (so ``hasattr(draft, "entity")`` is False),
missing paths are ``FileNotFoundError``/``KeyError``.
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """Base of the errors Cairn raises that have no built-in twin (``wandb.errors.Error``)."""

    def __init__(self, message: str = "", context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class CommError(Error):
    """A backend could not answer, or the thing asked for does not exist or is not visible."""

    def __init__(
        self, message: str = "", exc: Exception | None = None, context: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, context)
        self.exc = exc


class NotFoundError(CommError):
    """The thing asked for does not exist, or the caller may not see it (a server answers 404)."""


class AuthenticationError(CommError):
    """A server refused the API key (missing, unknown or revoked)."""


class AuthorizationError(CommError):
    """The caller may read the thing but not do this to it (its role does not allow it)."""


class RateLimitError(CommError):
    """The server refused the request because the key sent more than its rate (HTTP 429).

    Nothing was done, so the request may be sent again unchanged; ``retry_after`` is how
    long to wait first, in whole seconds (at least 1).
    """

    def __init__(
        self, message: str = "", retry_after: int = 1, context: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, context=context)
        self.retry_after = max(1, int(retry_after))


class NotReadyError(CommError):
    """The request needs work the server has not finished (a large upload whose content is
    still being verified) and was refused (HTTP 503).

    Nothing was done, so the request may be sent again unchanged; ``retry_after`` is how
    long to wait first, in whole seconds (at least 1).
    """

    def __init__(
        self, message: str = "", retry_after: int = 1, context: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, context=context)
        self.retry_after = max(1, int(retry_after))


class ArtifactTypeError(CommError, ValueError):
    """The artifact a name resolves to is of another type than the one asked for.

    wandb 0.31's ``Api.artifact(name, type=...)`` raises a ``ValueError`` that its
    ``normalize_exceptions`` turns into a ``CommError``; this is both, so code written for
    either keeps working.
    """


class UsageError(Error):
    """The API was called in a way it does not support."""


class ConfigError(Error):
    """A run's config key was given another value without ``allow_val_change=True``
    (``wandb.sdk.lib.config_util.ConfigError``)."""


class ArtifactStatusError(AttributeError):
    """The artifact is in an invalid state for the requested operation."""

    def __init__(
        self,
        msg: str = "Artifact is in an invalid state for the requested operation.",
        name: str | None = None,
        obj: object | None = None,
    ) -> None:
        super().__init__(msg, name=name, obj=obj)


class ArtifactNotLoggedError(ArtifactStatusError):
    """A member that needs a logged artifact was used on a draft."""

    def __init__(self, fullname: str, obj: object | None = None) -> None:
        *_, name = fullname.split(".")
        super().__init__(
            f"{fullname!r} used prior to logging artifact or while in offline mode. "
            "Call Artifact.wait() before accessing logged artifact properties.",
            name=name,
            obj=obj,
        )


class ArtifactFinalizedError(ArtifactStatusError):
    """A mutating member was used on an artifact that is finalized (logged or being logged)."""

    def __init__(self, fullname: str, obj: object | None = None) -> None:
        *_, name = fullname.split(".")
        super().__init__(
            f"{fullname!r} used on logged artifact. Can't modify finalized artifact.",
            name=name,
            obj=obj,
        )


class WaitTimeoutError(Error):
    """Waiting for an artifact to be saved timed out."""


class StoreError(Error, OSError):
    """The Cairn store directory cannot be used (missing permissions, not a directory, ...).

    The message names the directory; Cairn never falls back silently to another one.
    """


class CorruptionError(Error, ValueError):
    """Stored bytes do not match the digest recorded for them."""


class VerificationError(Error, ValueError, FileNotFoundError):
    """A downloaded folder does not hold its artifact's files: ``missing`` and ``changed``
    list every entry path that is absent or has other bytes. It is a ``ValueError`` (as a
    digest mismatch is in wandb) and a ``FileNotFoundError`` (as wandb raises for a
    missing file), so either ``except`` clause catches it."""

    def __init__(self, message: str, missing: list[str], changed: list[str]) -> None:
        super().__init__(message, {"missing": missing, "changed": changed})
        self.missing = missing
        self.changed = changed


class MissingReferenceError(Error, ValueError, FileNotFoundError):
    """The object a reference entry recorded no longer exists.

    wandb raises ``ValueError`` here; Cairn's is also a ``FileNotFoundError`` (a file that is
    gone), so either ``except`` clause catches it. ``download(allow_missing_references=True)``
    skips such entries with a warning.
    """


class ChangedReferenceError(Error, ValueError):
    """The object a reference entry recorded changed, and no copy of the recorded one is left.

    ``download(allow_missing_references=True)`` skips such entries with a warning.
    """


class MissingExtraError(Error, ImportError):
    """The cloud SDK a reference scheme needs is not installed; the message names the extra
    (``pip install cairn[s3]``, ``cairn[gcs]``, ``cairn[azure]``)."""
