"""Reference handlers, one module per scheme (sharing ``base``), chosen by URI from the
registry of them all that ``default_registry`` builds."""

from __future__ import annotations

from cairn.storage.references.base import HandlerOptions, HandlerRegistry, ReferenceHandler


def default_registry(options: HandlerOptions) -> HandlerRegistry:
    """The registry of every built-in handler, in wandb's order (spec §5). Raises nothing."""
    from cairn.storage.references.azure import AzureHandler
    from cairn.storage.references.file import LocalFileHandler
    from cairn.storage.references.gcs import GCSHandler
    from cairn.storage.references.http import HTTPHandler
    from cairn.storage.references.s3 import S3Handler
    from cairn.storage.references.tracking import TrackingHandler

    handlers: list[ReferenceHandler] = [
        S3Handler(options),
        GCSHandler(options),
        AzureHandler(options),
        HTTPHandler(options),
        LocalFileHandler(),
    ]
    return HandlerRegistry(handlers, TrackingHandler())
