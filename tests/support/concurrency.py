"""Real concurrency for the tests that prove row locks: threads released together by a barrier,
each on its own database connection (PostgreSQL; `transaction=True` tests)."""

import threading
import time
from collections.abc import Callable

from django.db import connection, connections


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


def wait_until_another_query_waits_for_this_transaction(*, seconds: float = 10) -> None:
    """Return once a query on another connection is blocked by this connection's transaction (its
    row locks): the moment to commit, to force "read before, decided after" interleavings.
    pg_locks and pg_blocking_pids read the lock manager live, inside a transaction too."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("No query on another connection ever waited for this transaction")


def in_thread(action: Callable[[], object]) -> object:
    """Run `action` to its end in another thread, on that thread's own database connection (a
    second kiosk, staff, cron), and return what it returned; its exception fails the test."""
    done: list = []

    def run() -> None:
        try:
            done.append(action())
        except Exception as exc:  # asserted on below
            done.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert done, "the other party did not finish"
    assert not isinstance(done[0], Exception), done
    return done[0]
