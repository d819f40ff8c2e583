"""Reference handlers, one module per scheme (sharing ``base``), chosen by URI from the
registry of them all that ``default_registry`` builds."""

from __future__ import annotations

from cairn.storage.references.base import HandlerOptions, HandlerRegistry, ReferenceHandler


def default_registry(options: HandlerOptions) -> HandlerRegistry:
    """The registry of every built-in handler, in wandb's order (spec §5). Raises nothing."""
    from cairn.storage.references.azure import AzureHandler  # noqa: PLC0415 - a scheme's handler loads when a registry is built
    from cairn.storage.references.file import LocalFileHandler  # noqa: PLC0415 - a scheme's handler loads when a registry is built
    from cairn.storage.references.gcs import GCSHandler  # noqa: PLC0415 - a scheme's handler loads when a registry is built
    from cairn.storage.references.http import HTTPHandler  # noqa: PLC0415 - a scheme's handler loads when a registry is built
    from cairn.storage.references.s3 import S3Handler  # noqa: PLC0415 - a scheme's handler loads when a registry is built
    from cairn.storage.references.tracking import TrackingHandler  # noqa: PLC0415 - a scheme's handler loads when a registry is built

    handlers: list[ReferenceHandler] = [
        S3Handler(options),
        GCSHandler(options),
        AzureHandler(options),
        HTTPHandler(options),
        LocalFileHandler(),
    ]
    return HandlerRegistry(handlers, TrackingHandler())
