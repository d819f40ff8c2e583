"""Reference handlers, one module per scheme (sharing ``base``), chosen by URI from the
registry of them all that ``default_registry`` builds."""

from __future__ import annotations

from cairn.storage.handlers.base import HandlerOptions, HandlerRegistry, ReferenceHandler


def default_registry(options: HandlerOptions) -> HandlerRegistry:
    """The registry of every built-in handler, in wandb's order (spec §5). Raises nothing."""
    from cairn.storage.handlers.azure import AzureHandler
    from cairn.storage.handlers.file import LocalFileHandler
    from cairn.storage.handlers.gcs import GCSHandler
    from cairn.storage.handlers.http import HTTPHandler
    from cairn.storage.handlers.s3 import S3Handler
    from cairn.storage.handlers.tracking import TrackingHandler

    handlers: list[ReferenceHandler] = [
        S3Handler(options),
        GCSHandler(options),
        AzureHandler(options),
        HTTPHandler(options),
        LocalFileHandler(),
    ]
    return HandlerRegistry(handlers, TrackingHandler())
