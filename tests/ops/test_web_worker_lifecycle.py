"""A web worker tells gunicorn it is alive, and exits when told to stop (SIGQUIT, SIGINT)."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from gunicorn.config import Config
from gunicorn.workers.workertmp import WorkerTmp

from osmosproject.gunicorn_worker import HEARTBEAT_SECONDS, BufferingThreadWorker


def test_a_stop_landing_while_the_worker_starts_a_request_thread_exits():
    # A signal runs its handler on the main thread between two bytecodes of whatever it was
    # doing; `tpool.submit` holds the pool's lock while it starts a thread, which is where
    # Ctrl-C caught the worker. The handler is called here the same way, inside that lock.
    worker = BufferingThreadWorker.__new__(BufferingThreadWorker)
    worker.cfg = Config()
    worker.alive = True
    worker.tpool = ThreadPoolExecutor(max_workers=1)
    exited = []

    def signal_during_submit():
        with worker.tpool._shutdown_lock:
            try:
                worker.handle_quit(signal.SIGQUIT, None)
            except SystemExit as stop:
                exited.append(stop.code)

    handler = threading.Thread(target=signal_during_submit, daemon=True)
    handler.start()
    handler.join(timeout=5)

    assert exited == [0], "the worker waited on a lock its own thread holds"
    assert not worker.alive


def test_the_heartbeat_is_written_once_a_second_not_on_every_loop():
    worker = BufferingThreadWorker.__new__(BufferingThreadWorker)
    worker.tmp = WorkerTmp(Config())
    worker.heartbeat_at = 0.0
    try:
        worker.notify()
        first = worker.tmp.last_update()
        worker.notify()  # the next turn of the event loop
        assert worker.tmp.last_update() == first

        # A second later the arbiter learns the worker is still alive.
        worker.heartbeat_at -= HEARTBEAT_SECONDS
        worker.notify()
        assert worker.tmp.last_update() > first
    finally:
        worker.tmp.close()
