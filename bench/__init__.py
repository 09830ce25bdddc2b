"""Benchmarks for Quorum: runnable modules that print figures and write bench/results/*.json."""
import time


def fresh_database(server_url: str, name: str) -> None:
    """Drop and create database ``name`` on the PostgreSQL server at ``server_url`` (no database part)."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class MachineCpu:
    """How busy the whole machine's CPUs were between ``start()`` and ``busy()``, from /proc/stat (Linux): the
    share of CPU time not idle, over all cores (1.0: every core busy the whole time). None elsewhere."""

    def __init__(self):
        self.started = None

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as fh:
                fields = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle  # user..steal: guest time is already inside user

    def start(self) -> "MachineCpu":
        self.started = self._read()
        return self

    def busy(self) -> float | None:
        now = self._read()
        if now is None or self.started is None or now[0] == self.started[0]:
            return None
        total, idle = now[0] - self.started[0], now[1] - self.started[1]
        return round(1 - idle / total, 3)


def cpu_probe_ms(repeats: int = 3) -> float:
    """Milliseconds for a fixed pure-Python loop (the best of ``repeats``): the same work every time, so it shows
    whether the CPU itself ran slower during a run. It touches almost no memory, so a slowdown that comes from
    memory (as the slow spells seen in bench.peer_label_studio's serving steps) leaves it unchanged."""
    best = float("inf")
    for _ in range(repeats):
        started, total = time.perf_counter(), 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)
