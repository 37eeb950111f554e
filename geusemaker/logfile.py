"""The command log (`geusemaker.log` in the home): private to the user, rotated, and free of credentials."""

from __future__ import annotations

import io
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import cast

from geusemaker.paths import open_private
from geusemaker.redact import redact


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose every file (the first and each after a rollover) is created 0600."""

    def _open(self) -> io.TextIOWrapper:
        return cast(io.TextIOWrapper, open_private(Path(self.baseFilename), "a", encoding=self.encoding))


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def file_handler(path: Path) -> logging.Handler:
    """A handler that writes redacted records to `path` (0600, 1 MB per file, 3 old files kept)."""
    handler = _PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    return handler
