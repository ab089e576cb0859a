"""Ctrl+C, SIGTERM and SIGHUP that always stop a command, and never cut its last steps in two.

Python raises KeyboardInterrupt wherever the main thread is when the signal lands. Inside a
garbage-collector callback (JAX registers one) the exception is only printed as "ignored"
and the run carries on: a Ctrl+C in the first second of ``process`` was lost and the whole
file rendered. ``install`` routes these signals to KeyboardInterrupt (SIGHUP too: a closed
terminal must not leave a classifier's shared memory behind) and, when one is swallowed that
way, raises it again in the main thread at once (from a helper thread, since the swallowing
frame cannot), without the stray traceback. One interrupt is raised per command: further
signals while it cleans up are ignored (SIGKILL still ends it).

Once a command's work is done (its output renamed into place, a live stream stopped), a
signal no longer interrupts: the command finishes its summary and exits as done, rather than
exit 130 over a complete output. ``committing`` holds signals back across the rename itself,
and ``uncut`` across steps an exception must not cut in two (an import of jaxlib cut by a
KeyboardInterrupt crashed the interpreter with SIGSEGV): in Python, not with a signal mask,
which covers only the thread that sets it (a signal that another thread receives still runs
its Python handler in the main thread).

Imports are held uncut too, all of them while a command runs: a KeyboardInterrupt inside a
compiled extension's import comes out as the extension's own ImportError ("numba._devicearray
failed to import", "initialization failed": an internal error, exit 1), or is swallowed whole
by a library that probes an optional module (the file then rendered to the end, exit 0). A
signal during an import interrupts right after the outermost one.
"""

from __future__ import annotations

import _thread
import builtins
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import EXIT_INTERRUPTED

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_swallowed = threading.Event()
_state = {"installed": False, "finish_on_commit": False, "holding": False, "pending": False, "raised": False,
          "to_caller": False, "stopping": False}


def on_signal(_number: int, _frame) -> None:
    """The handler: KeyboardInterrupt, once (what follows it is the command cleaning up and
    saying so, which a second signal must not cut short), or noted for later while an output
    is being committed."""
    if held_back() or _state["raised"]:
        return
    _state["raised"] = True
    raise KeyboardInterrupt


def held_back() -> bool:
    """Inside ``committing`` or ``uncut``: the signal is noted and raised when the step is done."""
    if _state["holding"]:
        _state["pending"] = True
    return _state["holding"]


def _raise_again() -> None:
    while True:
        _swallowed.wait()
        _swallowed.clear()
        _thread.interrupt_main(signal.SIGINT)


def _unraisable(unraisable, previous=sys.unraisablehook) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _state["raised"] = False  # it never reached the command: raise it again
        _swallowed.set()
    else:
        previous(unraisable)


def install() -> None:
    """For a command's main thread: SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, even
    when started where SIGINT was ignored (a background job), and none is lost (imports are
    held uncut). Whether its one output finishes it is said after parsing
    (``set_finish_on_commit``)."""
    for number in SIGNALS:
        signal.signal(number, on_signal)
    sys.unraisablehook = _unraisable
    if not _state["installed"]:
        threading.Thread(target=_raise_again, name="interrupt again", daemon=True).start()
        builtins.__import__ = _uncut_import
    _state.update(installed=True, finish_on_commit=False, raised=False)


def set_finish_on_commit(finish_on_commit: bool) -> None:
    """Whether the command's one output finishes it once in place (known after parsing)."""
    _state["finish_on_commit"] = finish_on_commit


def interrupted() -> bool:
    """Whether a signal was raised as KeyboardInterrupt in this command (an error that follows
    it may be a library's translation of it)."""
    return _state["raised"]


_plain_import = builtins.__import__


def _uncut_import(*args, **kwargs):
    with uncut():
        return _plain_import(*args, **kwargs)


def stopped(program: str) -> int:
    """The line an interrupted command ends with, and its exit status (signals are ignored
    from here: a second one must not cut the line short)."""
    finish()
    print(f"{program}: interrupted; no output was left behind", file=sys.stderr)
    return EXIT_INTERRUPTED


def finish() -> None:
    """The command's work is done: from now on these signals are ignored, by the system, so
    none cuts the summary or the interpreter's exit short (a signal handled in Python could
    still land after Python's own handlers are gone)."""
    if _state["installed"] and threading.current_thread() is threading.main_thread():
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)


def leave_to_caller() -> None:
    """For a worker's tasks: a signal held back over a commit does not interrupt the task
    afterwards (its file is in place: its result must reach the run's summary and report);
    ``stopping`` says the worker was asked to stop, so it takes no further task."""
    _state["to_caller"] = True


def stopping() -> bool:
    return _state["stopping"]


@contextmanager
def uncut() -> Iterator[None]:
    """Around a step that must run whole (loading a compiled extension): a signal that arrives
    meanwhile interrupts right after it."""
    if threading.current_thread() is not threading.main_thread() or _state["holding"]:
        yield
        return
    _state.update(holding=True, pending=False)
    try:
        yield
    finally:
        pending = _state["pending"]
        _state.update(holding=False, pending=False)
    if pending:
        _state["raised"] = True
        raise KeyboardInterrupt


@contextmanager
def committing() -> Iterator[None]:
    """Around the rename that puts an output in place: a signal that arrives meanwhile is
    raised after it (a handler that consults ``held_back`` defers it), and for a command of one
    output (``set_finish_on_commit(True)``) the rename finishes the command instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.update(holding=True, pending=False)
    try:
        yield
        if _state["finish_on_commit"]:
            finish()
    finally:
        pending = _state["pending"] and not _state["finish_on_commit"]
        _state.update(holding=False, pending=False)
    if pending and _state["to_caller"]:
        _state["stopping"] = True
    elif pending:
        _state["raised"] = True
        raise KeyboardInterrupt
