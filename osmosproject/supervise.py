"""Run a few long-lived commands together, and stop them together, once.

Each child runs in its own process group, so a Ctrl-C at the terminal (SIGINT to the whole
foreground job) reaches only the supervisor, which passes that one signal on to each child
once. Resending signals to a process group that includes the sender (`trap 'kill 0'`) is
what made the shell version of `make serve` signal itself in a loop.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_together(
    commands: Sequence[Sequence[str]],
    *,
    cwd: Path,
    stop_timeout: float,
    say: Callable[[str], None] = print,
) -> int:
    """Start the commands, wait for a stop signal or for one of them to end, stop the rest.

    Returns 0 when a signal asked for the stop and every child obeyed it, else the exit
    status of the child that ended first (1 when that was 0: it should not have ended).
    """
    received: list[int] = []
    wake = threading.Event()

    def on_signal(signum, _frame):
        if not received:
            received.append(signum)
        wake.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    children: list[subprocess.Popen] = []
    try:
        for command in commands:
            children.append(subprocess.Popen(list(command), cwd=cwd, process_group=0))
        while not wake.wait(0.2) and all(child.poll() is None for child in children):
            pass
        first_exit = next((child for child in children if child.poll() is not None), None)
        stop = received[0] if received else signal.SIGTERM
        if first_exit is not None and not received:
            say(f"{first_exit.args[-1]} ended (exit status {first_exit.returncode}); stopping.")
        for child in children:
            if child.poll() is None:
                child.send_signal(stop)
        stuck = wait_all(children, stop_timeout)
        for child in stuck:
            say(f"{child.args[-1]} did not stop within {stop_timeout:.0f} s; killed.")
            child.kill()
            child.wait()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if first_exit is not None and not received:
        return first_exit.returncode or 1
    return 1 if stuck else 0


def wait_all(children: Sequence[subprocess.Popen], timeout: float) -> list[subprocess.Popen]:
    """Wait up to `timeout` seconds in all; the children still running then."""
    waiter = threading.Thread(target=lambda: [child.wait() for child in children], daemon=True)
    waiter.start()
    waiter.join(timeout)
    return [child for child in children if child.poll() is None]
