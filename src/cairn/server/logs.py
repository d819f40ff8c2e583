"""``cairn server --log-format json``: every log line one JSON object on stderr.

``JsonFormatter`` writes ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``,
then, for a request line of ``cairn.server.instrument``, its fields (request id, key id,
method, route, path, status, duration, bytes), or for any other line written while a
request is under way, that request's id, and ``exception`` with the traceback of an
error. ``uvicorn_log_config`` routes uvicorn's and Cairn's loggers through it; uvicorn's
own access log is left off (the request lines replace it). The default text format is
uvicorn's (``text_log_config``), but its access lines show a path without its query
string (``WithoutQuery``): signed transfer URLs carry their signature there.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from typing import Any

from cairn.server.instrument import current_request


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "cairn", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            request = current_request()
            if request is not None:
                entry["request_id"] = request.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a server logging JSON at ``level`` and above."""
    handler = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"uvicorn": handler, "cairn": handler},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


class WithoutQuery(logging.Filter):
    """Drop the query string of the path in uvicorn's access lines (their arguments are
    client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], *args[3:])
        return True


def text_log_config() -> dict[str, Any]:
    """uvicorn's own ``dictConfig``, its access lines passed through ``WithoutQuery``."""
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415 - uvicorn's defaults only when logging is set up

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query"] = {"()": WithoutQuery}
    config["handlers"]["access"].setdefault("filters", []).append("without_query")
    return config
