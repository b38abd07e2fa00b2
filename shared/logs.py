"""Log lines of both services, the server's own included: readable text, or one JSON object a line.

uvicorn applies `log_config` in its supervisor and again in every worker it spawns, and granian
(SECURELINK_SERVER=granian) takes the same dictionary as its `log_dictconfig`, so the one
dictionary built here formats every line any process of a service writes. Access lines of both
servers carry the same fields in JSON: client, method, path, http_version, status. A request's
id lives in a context variable set by the request timer (never on the redirector's hot path,
which logs nothing), so any line logged while the request runs carries it.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The attributes every LogRecord has; anything else was passed in `extra` and is logged too.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
# granian's access record names its fields; ours are uvicorn's names, and the time it took.
_GRANIAN_ACCESS_FIELDS = {"addr": "client", "method": "method", "path": "path", "status": "status"}


def new_request_id() -> str:
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, event, and the ids where there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        elif record.name == "granian.access" and isinstance(record.args, Mapping):
            line.update(_granian_access(record.args))
        for name, value in record.__dict__.items():
            if name not in _STANDARD:
                line[name] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return _encode(line).decode()


def _granian_access(args: Mapping[str, Any]) -> dict[str, Any]:
    fields = {
        ours: args[theirs] for theirs, ours in _GRANIAN_ACCESS_FIELDS.items() if theirs in args
    }
    protocol = args.get("protocol")
    if isinstance(protocol, str):
        fields["http_version"] = protocol.removeprefix("HTTP/")
    if isinstance(args.get("dt_ms"), float):
        fields["duration_ms"] = round(args["dt_ms"], 3)
    return fields


class TextFormatter(logging.Formatter):
    """The readable default, with the request id appended where there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        current = request_id.get()
        return text if current is None else f"{text} request_id={current}"


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """The dictConfig both services run under, given to uvicorn as its `log_config`."""
    formatter = {
        "()": f"shared.logs.{'JsonFormatter' if log_format == 'json' else 'TextFormatter'}"
    }
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    access = {**handler, "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler, "access": access},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            # granian's own loggers (its Rust side logs as `_granian` too); it sets the level
            # of `_granian` from its `log_level`.
            "_granian": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }
