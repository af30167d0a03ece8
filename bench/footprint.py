"""What an installation occupies while it runs: resident memory per tier (read from /proc)
and the size of its database, for the sustained benchmark's start/end comparison."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit

PROC = Path("/proc")


def _ppids() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                # The command name may hold spaces or parentheses: split after its last ")".
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
    return parents


def _tree(root: int, parents: dict[int, int]) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        pids += frontier
    return pids


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system time of the process and of its children that ended (recycled workers)."""
    with contextlib.suppress(OSError, ValueError):
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(n) for n in fields[11:15]) / TICKS
    return 0.0


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by a process and every process under it (a server's workers)."""
    return sum(_cpu_seconds(pid) for pid in _tree(root, _ppids()))


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _argv(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    return []


def _listening_on(port: int) -> tuple[int | None, int | None]:
    """The PostgreSQL postmaster and the Redis server started for `port` (-p PORT, or
    redis-server's "127.0.0.1:PORT" title), found by their command lines."""
    postmaster = redis = None
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        argv = _argv(int(entry.name))
        if not argv:
            continue
        if (
            argv[0].endswith("/postgres")
            and "-p" in argv
            and argv[argv.index("-p") + 1] == str(port)
        ):
            postmaster = int(entry.name)
        if argv[0].startswith("redis-server") and argv[0].endswith(f":{port}"):
            redis = int(entry.name)
    return postmaster, redis


class Footprint:
    """Tiers by root process id: each tier's RSS is the sum over the root and its descendants
    (gunicorn's and django-q2's children are recycled, so per-process figures would not last)."""

    def __init__(self, stack, server, cluster):
        self.stack = stack
        self.roots: dict[str, int] = {"web": server.popen.pid, "workers": cluster.popen.pid}
        if stack.pg_admin_url:
            postmaster, _ = _listening_on(urlsplit(stack.pg_admin_url).port or 5432)
            if postmaster:
                self.roots["postgresql"] = postmaster
        if stack.redis_url:
            _, redis = _listening_on(urlsplit(stack.redis_url).port or 6379)
            if redis:
                self.roots["redis"] = redis

    def rss_mb(self) -> dict[str, float]:
        parents = _ppids()
        return {
            tier: sum(_rss_kb(pid) for pid in _tree(root, parents)) / 1024
            for tier, root in self.roots.items()
        }

    def cpu_seconds(self, peer_pid: int) -> dict[str, float]:
        """CPU time used so far by each tier, the benchmark's own two processes included."""
        parents = _ppids()
        roots = {**self.roots, "load generator": os.getpid(), "receiver + consumer": peer_pid}
        return {
            tier: sum(
                _cpu_seconds(pid)
                for pid in (_tree(root, parents) if tier in self.roots else [root])
            )
            for tier, root in roots.items()
        }

    def database_mb(self) -> float:
        if self.stack.pg_admin_url:
            return self._pg("SELECT pg_database_size(current_database())") / 2**20
        path = self.stack.dir / "bench.sqlite3"
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return sum(file.stat().st_size for file in files if file.exists()) / 2**20

    def mailbox_rows(self) -> int:
        """Rows kept in every mailbox: what the purge has not deleted yet."""
        query = "SELECT count(*) FROM mailbox_mailboxrecord"
        if self.stack.pg_admin_url:
            return self._pg(query)
        import sqlite3

        path = self.stack.dir / "bench.sqlite3"
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=20)
        ) as db:
            return db.execute(query).fetchone()[0]

    def _pg(self, query: str) -> int:
        import psycopg

        url = urlsplit(self.stack.db_url)._replace(scheme="postgresql").geturl()
        with psycopg.connect(url) as conn:
            return conn.execute(query).fetchone()[0]
