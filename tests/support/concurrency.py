"""Real concurrency for the tests that prove row locks: threads released together by a barrier,
each on its own database connection (PostgreSQL; `transaction=True` tests)."""

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(target: Callable[[int], object], count: int) -> list:
    """Run `target(i)` in `count` real threads released together by a barrier.

    Each thread uses its own database connection (closed at the end); the results, or the
    exceptions raised, come back in order.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except Exception as exc:  # returned to the test, which asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
