"""The AWS answer cache is written by several planning threads at once."""

from __future__ import annotations

import threading
from pathlib import Path

from geusemaker.services.cache import JsonCache


def test_concurrent_puts_lose_no_answer_and_never_fail(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path / "aws-answers.json")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def put_many(worker: int) -> None:
        start.wait()
        try:
            for n in range(25):
                cache.put(f"ami:{worker}:{n}", {"image": f"ami-{worker}{n}"})
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=put_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(cache.get(f"ami:{w}:{n}") == {"image": f"ami-{w}{n}"} for w in range(8) for n in range(25))
