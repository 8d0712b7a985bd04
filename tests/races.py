"""The race harness: the same work in several threads at once, as concurrent requests.

Each thread closes its database connection when done (Django opens one per thread), and
an exception raised in a thread fails the test in the main thread after all are joined.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def run_in_threads(work: Callable[[], object], count: int) -> None:
    """``work()`` in ``count`` threads at once; returns when every one has finished."""
    with _threads(lambda stop: work(), count):
        pass


@contextmanager
def running_in_threads(work: Callable[[threading.Event], object], count: int) -> Iterator[None]:
    """``work(stop)`` in ``count`` threads while the block runs; ``stop`` is set when it
    ends, and the threads are joined. ``work`` returns once ``stop`` is set."""
    with _threads(work, count, stop_at_exit=True):
        yield


@contextmanager
def _threads(
    work: Callable[[threading.Event], object], count: int, *, stop_at_exit: bool = False
) -> Iterator[None]:
    from django.db import connection

    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work(stop)
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        if stop_at_exit:
            stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
