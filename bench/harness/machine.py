"""Process memory and how busy this shared machine is."""

import contextlib
import datetime
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness.common import note
from bench.harness.database import admin_connection

if TYPE_CHECKING:
    from bench.harness.server import Gunicorn


# --- Process memory -------------------------------------------------------------------------------
def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS since start, or since reset_peak_rss) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- A shared machine -------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _pid_ticks(pid: int, *, children: bool = False) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = int(fields[11]) + int(fields[12])  # utime, stime
        return own + (int(fields[13]) + int(fields[14]) if children else 0)  # cutime, cstime
    return 0


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over `seconds`."""
    busy0, total0 = _machine_busy_ticks()
    time.sleep(seconds)
    busy1, total1 = _machine_busy_ticks()
    return (busy1 - busy0) / max(total1 - total0, 1)


# Seconds each measurement waits for a quiet machine (--patience; --smoke waits none).
PATIENCE = 120.0


def wait_for_quiet_machine(*, limit: float = 0.15, patience: float | None = None) -> None:
    """Other people's test runs share these cores: wait (a while) until they are idle."""
    patience = PATIENCE if patience is None else patience
    deadline = time.monotonic() + patience
    busy = machine_busy()
    if busy <= limit:
        return
    note(f"the machine is {busy:.0%} busy with other work: waiting up to {patience:.0f} s for it to calm down")
    while time.monotonic() < deadline:
        busy = machine_busy(2.0)
        if busy <= limit:
            return
    note(f"still {busy:.0%} busy: measuring anyway (see 'others' CPU' in the table)")


class CpuWatch:
    """CPU used while the block ran: by the server (the gunicorn tree), by the PostgreSQL backends
    serving `database`, by this process and its children (the load generator), and by everything
    else on the machine. A busy neighbour explains a bad figure; server + database CPU per request
    is the figure that neighbours disturb least."""

    def __init__(self, database: str, server: "Gunicorn | None" = None) -> None:
        self.database, self.server = database, server
        self.server_s = self.db_s = self.client_s = 0.0
        self.others = 0.0  # share of the whole machine
        self.busiest_worker_share: float | None = None

    def _backend_pids(self) -> list[int]:
        with admin_connection() as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)).fetchall()
        return [r[0] for r in rows]

    def _ticks(self) -> dict[str, int]:
        ticks = {"client": round(sum(os.times()[:4]) * CLOCK_TICKS)}
        if self.server is not None and self.server.process is not None:
            # The master's children ticks include workers that exited meanwhile (max_requests).
            ticks["server:master"] = _pid_ticks(self.server.process.pid, children=True)
            for pid in self.server.worker_pids():
                ticks[f"server:{pid}"] = _pid_ticks(pid)
        for pid in self._backend_pids():
            ticks[f"db:{pid}"] = _pid_ticks(pid)
        return ticks

    def __enter__(self) -> "CpuWatch":
        self._start_machine = _machine_busy_ticks()
        self._start = self._ticks()
        return self

    def __exit__(self, *exc) -> None:
        busy1, total1 = _machine_busy_ticks()
        end = self._ticks()
        used = {"client": 0, "server": 0, "db": 0}
        for key, value in end.items():
            used[key.split(":")[0]] += value - self._start.get(key, 0)
        self.client_s, self.server_s, self.db_s = (used[k] / CLOCK_TICKS for k in ("client", "server", "db"))
        workers = [end[key] - self._start.get(key, 0) for key in end if key.startswith("server:") and key[7:].isdigit()]
        busy_workers = sum(workers)
        # With 2 workers or more: the share of their CPU the busiest one used (1.0: it did all).
        self.busiest_worker_share = max(workers) / busy_workers if len(workers) > 1 and busy_workers else None
        busy = busy1 - self._start_machine[0]
        self.others = max(0.0, (busy - sum(used.values())) / max(total1 - self._start_machine[1], 1))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with admin_connection() as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg}, "
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )
