"""Ctrl+C, SIGTERM and SIGHUP that always stop a command, cleanly.

Python raises KeyboardInterrupt wherever the main thread is when the signal lands. Inside a
garbage-collector callback (JAX registers one) the exception is only printed as "ignored"
and the run carries on: a Ctrl+C in the first second of ``process`` was lost and the whole
file rendered. ``install`` routes these signals to KeyboardInterrupt (SIGHUP too: a closed
terminal must not leave a classifier's shared memory behind) and, when one is
swallowed that way, raises it again in the main thread at once (from a helper thread, since
the swallowing frame cannot), without the stray traceback.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading

_swallowed = threading.Event()


def _raise_again() -> None:
    while True:
        _swallowed.wait()
        _swallowed.clear()
        _thread.interrupt_main(signal.SIGINT)


def _unraisable(unraisable, previous=sys.unraisablehook) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _swallowed.set()
    else:
        previous(unraisable)


def install() -> None:
    """For a command's main thread: SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, even
    when started where SIGINT was ignored (a background job), and none is lost."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.default_int_handler)
    sys.unraisablehook = _unraisable
    threading.Thread(target=_raise_again, name="interrupt again", daemon=True).start()
