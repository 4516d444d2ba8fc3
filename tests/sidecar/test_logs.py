"""sidecar/logs.py: text lines as before, JSON lines with the fields a caller adds."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from sidecar import logs


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _logged(kind: str, emit: object) -> list[str]:
    stream = io.StringIO()
    logs.setup("INFO", kind, stream)
    assert callable(emit)
    emit(logging.getLogger("ocpi_sidecar.test"))
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_fixed_keys_and_the_fields(restore_root: None) -> None:
    (line,) = _logged("json", lambda log: log.info("GET /ocpi/versions 200", extra={
        "fields": {"method": "GET", "status": 200, "message": "not this one"}}))
    record = json.loads(line)
    assert record["message"] == "GET /ocpi/versions 200"
    assert record["method"] == "GET" and record["status"] == 200
    assert record["level"] == "INFO" and record["logger"] == "ocpi_sidecar.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert "exc" not in record


def test_json_lines_name_the_exception(restore_root: None) -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise KeyError("missing")
        except KeyError:
            log.exception("it failed")

    (line,) = _logged("json", emit)
    record = json.loads(line)
    assert record["exc_type"] == "KeyError"
    assert "Traceback" in record["exc"] and "missing" in record["exc"]


def test_text_lines_keep_their_shape_and_levels_filter(restore_root: None) -> None:
    lines = _logged("text", lambda log: (log.debug("hidden"), log.warning("shown")))
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING ocpi_sidecar.test: "
                        r"shown", lines[0])


def test_library_loggers_come_through_the_same_handler(restore_root: None) -> None:
    stream = io.StringIO()
    own = logging.getLogger("hypercorn.error")
    own.addHandler(logging.StreamHandler(io.StringIO()))
    own.propagate = False
    logs.setup("INFO", "json", stream)
    own.info("Running on http://127.0.0.1:1")
    logging.getLogger("grpc._cython.cygrpc").warning("from grpc")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["logger"] for r in records] == ["hypercorn.error", "grpc._cython.cygrpc"]
