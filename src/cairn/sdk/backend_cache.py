"""One open backend per settings, shared by drafts, runs and ``Api`` objects of a process."""

from __future__ import annotations

import threading

from cairn.protocol import Backend, open_backend
from cairn.settings import Settings

_lock = threading.Lock()
_backends: dict[Settings, Backend] = {}


def backend_for(settings: Settings | None = None) -> Backend:
    """The backend for ``settings`` (default: ``Settings.load()`` now), opened once."""
    settings = settings if settings is not None else Settings.load()
    with _lock:
        backend = _backends.get(settings)
        if backend is None:
            backend = _backends[settings] = open_backend(settings)
        return backend


def close_all() -> None:
    """Close every backend this process opened (tests, and interpreter exit)."""
    with _lock:
        for backend in _backends.values():
            backend.close()
        _backends.clear()
