"""A tiny JSON file cache with a time-to-live, for slow-changing AWS answers (AMIs, list prices)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geusemaker.paths import open_private

DAY_S = 24 * 3600


class JsonCache:
    """Values keyed by string in one JSON file; entries older than `ttl_s` are ignored."""

    def __init__(self, path: Path, ttl_s: float = DAY_S, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()  # planning resolves several regions' answers at once

    def get(self, key: str) -> Any | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict) or self._clock() - float(entry.get("at", 0)) > self._ttl_s:
            return None
        return entry.get("value")

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            data = self._load()
            data[key] = {"at": self._clock(), "value": value}
            tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            with open_private(tmp, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data))
            tmp.replace(self._path)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
