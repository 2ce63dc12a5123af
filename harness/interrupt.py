"""A Ctrl-C that cannot be lost. Python raises KeyboardInterrupt wherever the main thread is; when that is inside an
object's finalizer (`__del__`, e.g. of garbage collected mid-training), Python prints "Exception ignored" and runs
on. `handling()` installs a SIGINT handler that also records the interrupt, and `check()` (called by the driver after
each event and by training after each step) raises it again from ordinary code."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

_INTERRUPTED = threading.Event()


@contextmanager
def handling() -> Iterator[None]:
    """Record SIGINT while the block runs (main thread only; elsewhere a no-op), then restore the old handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _INTERRUPTED.clear()


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came (and was swallowed somewhere) since `handling()` began."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt
