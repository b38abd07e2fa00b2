"""Log lines: JSON objects with the ids where there are any, or readable text."""

from __future__ import annotations

import json
import logging
import sys

from shared.logs import JsonFormatter, TextFormatter, log_config, request_id


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("securelink", logging.ERROR, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_time_level_logger_event_and_the_reference_id() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record("unhandled error referenceId=%s", "ab12", reference_id="ab12")
        record.exc_info = sys.exc_info()

    line = JsonFormatter().format(record)

    parsed = json.loads(line)
    assert "\n" not in line
    assert parsed["level"] == "error"
    assert parsed["logger"] == "securelink"
    assert parsed["event"] == "unhandled error referenceId=ab12"
    assert parsed["reference_id"] == "ab12"
    assert parsed["time"].endswith("Z")
    assert "RuntimeError: boom" in parsed["exception"]


def test_a_line_logged_during_a_request_carries_its_id() -> None:
    token = request_id.set("r-1")
    try:
        json_line = json.loads(JsonFormatter().format(_record("x")))
        text_line = TextFormatter().format(_record("x"))
    finally:
        request_id.reset(token)

    assert json_line["request_id"] == "r-1"
    assert text_line.endswith("ERROR securelink x request_id=r-1")


def test_the_access_log_fields_are_named_in_json() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/-/healthz", "1.1", 200), None,
    )  # fmt: skip

    parsed = json.loads(JsonFormatter().format(record))

    assert (parsed["client"], parsed["method"], parsed["path"], parsed["status"]) == (
        "127.0.0.1:5000", "GET", "/-/healthz", 200,
    )  # fmt: skip


def test_granians_access_fields_get_uvicorns_names_in_json() -> None:
    fields = {
        "addr": "127.0.0.1", "time": "2026-12-02 04:31:50 +0000", "dt_ms": 2.50712,
        "status": 302, "path": "/Xk3p9QaZ2m", "query_string": "", "method": "GET",
        "scheme": "http", "protocol": "HTTP/1.1",
    }  # fmt: skip
    record = logging.LogRecord(
        "granian.access", logging.INFO, __file__, 1, '%(addr)s "%(method)s %(path)s" %(status)d',
        (fields,), None,
    )  # fmt: skip

    parsed = json.loads(JsonFormatter().format(record))

    assert parsed == {
        "time": parsed["time"], "level": "info", "logger": "granian.access",
        "event": '127.0.0.1 "GET /Xk3p9QaZ2m" 302', "client": "127.0.0.1", "method": "GET",
        "path": "/Xk3p9QaZ2m", "status": 302, "http_version": "1.1", "duration_ms": 2.507,
    }  # fmt: skip


def test_granians_own_loggers_are_configured_like_uvicorns() -> None:
    loggers = log_config("json", "info")["loggers"]

    assert loggers["_granian"] == {"handlers": ["default"], "level": "INFO", "propagate": False}
    assert loggers["granian.access"] == loggers["uvicorn.access"]


def test_log_config_names_the_chosen_formatter() -> None:
    assert log_config("json", "info")["formatters"]["default"]["()"] == "shared.logs.JsonFormatter"
    assert (
        log_config("text", "warning")["formatters"]["default"]["()"] == "shared.logs.TextFormatter"
    )
