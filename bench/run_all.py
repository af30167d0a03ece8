"""`make bench`: run every `bench/bench_*.py` and rewrite docs/benchmarks.md with the results.

Each module's ``run() -> str`` returns its markdown section, every figure beside a baseline
measured in the same run. The page starts with the machine and the command, since numbers
mean little without them. A benchmark that fails leaves its error in its section and
makes the command fail, after the others have run.

``python bench/run_all.py [name ...]`` runs only the named benchmarks (e.g. ``ingest``).
"""

from __future__ import annotations

import importlib
import os
import platform
import sqlite3
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUTPUT = ROOT / "docs" / "benchmarks.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def postgresql_version() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return "not measured (DATABASE_URL is not a PostgreSQL URL)"
    import psycopg

    from bench.stack import maintenance_url

    with psycopg.connect(maintenance_url(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def redis_version() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "not used (REDIS_URL unset: the ORM broker)"
    import redis

    return redis.from_url(url).info("server")["redis_version"]


def machine() -> list[str]:
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores; RAM {memory()}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"PostgreSQL {postgresql_version()}; Redis {redis_version()}",
        f"- Load average when it started: {' '.join(f'{n:.2f}' for n in os.getloadavg())} "
        "(other work on the machine skews every figure)",
    ]


def benchmarks(only: list[str]) -> list[str]:
    names = sorted(path.stem for path in (ROOT / "bench").glob("bench_*.py"))
    if only:
        names = [name for name in names if name.removeprefix("bench_") in only or name in only]
    return names


def main(argv: list[str]) -> int:
    started = datetime.now(UTC)
    # Read before any benchmark runs: one may point DATABASE_URL at a scratch database.
    environment = dict(os.environ)
    about_machine = machine()
    sections, failed = [], []
    for name in benchmarks(argv):
        print(f"running {name} ...", flush=True)
        began = time.monotonic()
        try:
            section = importlib.import_module(f"bench.{name}").run()
        except Exception:
            failed.append(name)
            section = f"### {name}\n\nFailed:\n\n```\n{traceback.format_exc()}```\n"
            print(section, file=sys.stderr)
        finally:
            # Each benchmark starts from the environment the command was given.
            os.environ.clear()
            os.environ.update(environment)
        sections.append(section.rstrip() + f"\n\n_{name}: {time.monotonic() - began:.0f} s._\n")
    command = "make bench" + (f" (python bench/run_all.py {' '.join(argv)})" if argv else "")
    page = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC; every figure sits beside "
        "a baseline measured in the same run, as a ratio. Rerun it on your hardware: "
        "absolute numbers depend on the machine, the ratios much less.",
        "",
        "## Machine",
        "",
        *about_machine,
        "",
        "## Results",
        "",
        "\n".join(sections),
    ]
    OUTPUT.write_text("\n".join(page).rstrip() + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
