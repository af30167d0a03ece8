"""`make bench`: run every `bench/bench_*.py` and write its section of docs/benchmarks.md.

Each module's ``run() -> str`` returns its markdown section, every figure beside a baseline
measured in the same run. The page starts with the machine, and each section ends with the
command and time that measured it, since numbers mean little without them. A benchmark that
fails leaves its error in its section and makes the command fail, after the others have run.

``python bench/run_all.py [--long] [name ...]`` runs only the named benchmarks (e.g.
``ingest``) and keeps the other sections of the page as they were. ``--long`` sets
``BENCH_LONG=1`` for the benchmarks that have a long form (``LONG_FORM = True`` in the
module: the 10-minute sustained run); their long results are kept as sections of their own,
beside the short ones. The others run as usual and replace their usual section.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sqlite3
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUTPUT = ROOT / "docs" / "benchmarks.md"
SECTION = re.compile(
    r"<!-- bench:(?P<key>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=key) -->\n", re.S
)


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


def kept_sections() -> dict[str, str]:
    """The sections already on the page, by key, so a partial run replaces only its own."""
    if not OUTPUT.exists():
        return {}
    return {match["key"]: match["body"] for match in SECTION.finditer(OUTPUT.read_text())}


def main(argv: list[str]) -> int:
    started = datetime.now(UTC)
    long = "--long" in argv
    names = [arg for arg in argv if arg != "--long"]
    if long:
        os.environ["BENCH_LONG"] = "1"
    # Read before any benchmark runs: one may point DATABASE_URL at a scratch database.
    environment = dict(os.environ)
    about_machine = machine()
    command = "make bench" + (f" (python bench/run_all.py {' '.join(argv)})" if argv else "")
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        command += ", beside PostgreSQL + Redis"
    sections, failed = kept_sections(), []
    for name in benchmarks(names):
        print(f"running {name} ...", flush=True)
        began, load = time.monotonic(), os.getloadavg()[0]
        key = name
        try:
            module = importlib.import_module(f"bench.{name}")
            if long and getattr(module, "LONG_FORM", False):
                key += "--long"
            section = module.run()
        except Exception:
            failed.append(name)
            section = f"### {name}\n\nFailed:\n\n```\n{traceback.format_exc()}```\n"
            print(section, file=sys.stderr)
        finally:
            # Each benchmark starts from the environment the command was given.
            os.environ.clear()
            os.environ.update(environment)
        sections[key] = (
            section.rstrip()
            + f"\n\n_{name}: {time.monotonic() - began:.0f} s, `{command}`, "
            + f"{started:%Y-%m-%d %H:%M} UTC, load average {load:.2f} at its start._\n"
        )
    page = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`make bench-postgres` adds PostgreSQL + Redis beside SQLite; "
        "`make bench BENCH_ARGS=--long BENCH=...` the long runs); every figure sits beside a "
        "baseline measured in the same run, as a ratio. Each section says which command "
        "measured it and when. Rerun it on your hardware: absolute numbers depend on the "
        "machine, the ratios much less.",
        "",
        "## Machine",
        "",
        *about_machine,
        "",
        "## Results",
        "",
        *(
            f"<!-- bench:{key} -->\n{body.rstrip()}\n<!-- /bench:{key} -->\n"
            for key, body in sorted(sections.items())
        ),
    ]
    OUTPUT.write_text("\n".join(page).rstrip() + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
