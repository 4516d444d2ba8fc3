"""Logging of the process: one handler on stderr, text or JSON lines, set up once by the CLI.

JSON lines carry `time`, `level`, `logger`, `message`, every key of `extra={"fields": {…}}`
given to the call, and `exc_type`/`exc` when there was an exception. Hypercorn and grpc log
through the same handler (`adopt`), so that a log collector never meets a line of another
shape.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# Libraries whose loggers would otherwise print in their own formats or not at all.
ADOPTED = ("hypercorn.error", "hypercorn.access", "grpc")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            # The fixed keys win: a field named "message" must not hide the message.
            line = {**{str(k): v for k, v in fields.items()}, **line}
        if record.exc_info and record.exc_info[1] is not None:
            line["exc_type"] = type(record.exc_info[1]).__name__
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    """The formatter of `kind` ("text" or "json")."""
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT)


def setup(level: str, kind: str = "text", stream: TextIO | None = None) -> None:
    """Send every record at `level` or above to `stream` (stderr) in the `kind` format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ADOPTED:
        adopt(logging.getLogger(name))


def adopt(logger: logging.Logger) -> logging.Logger:
    """`logger` without handlers of its own, passing its records to ours."""
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    return logger
