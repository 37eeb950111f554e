"""A thread pool for read-only AWS calls that an interruption does not wait for."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager


@contextmanager
def read_pool(max_workers: int, thread_name_prefix: str) -> Iterator[ThreadPoolExecutor]:
    """Like `with ThreadPoolExecutor(...)`, but on Ctrl-C, SIGTERM or an error the pending calls are
    cancelled and the running ones abandoned, not waited for: they only read, and a stuck read can
    take minutes to time out."""
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
