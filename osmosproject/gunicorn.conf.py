"""gunicorn for production: `gunicorn -c osmosproject/gunicorn.conf.py osmosproject.wsgi`.

Used by `make serve`, the systemd units of docs/deploy.md and the benchmarks, so what is
measured is what is deployed. Every value can be overridden from the environment.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")

# Processes: gunicorn's usual 2 x cores + 1. Threads: a mailbox long poll waits up to
# 30 s on its thread, so threads keep a process serving others meanwhile.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# gthread, except that a request gets a thread only once it has arrived (headers and a body
# up to WEB_BUFFER_BYTES, 1 MiB): slow clients wait in the poller, not on threads. A request
# still arriving WEB_REQUEST_TIMEOUT seconds (30) after its first byte gets 408. It also hands
# memory freed by a large request back to the system (malloc_trim), so RSS levels off.
worker_class = "osmosproject.gunicorn_worker.BufferingThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))

# Above the 30 s long poll and a 10 MB ingest body on a slow link.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# Also how long a connection may stay silent while its request arrives.
keepalive = 5

# Recycle processes now and then, so a slow leak can never grow without bound.
max_requests = 20_000
max_requests_jitter = 2_000

# "-": access log on stdout (journald); ACCESS_LOG="" turns it off.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"

# gunicorn's control socket sits at one path per user: several servers on a host (tests,
# benchmarks, a second instance) would fight over it. systemd and signals manage ours.
control_socket_disable = True
