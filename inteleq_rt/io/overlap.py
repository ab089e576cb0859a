"""Decoding ahead of a render and encoding behind it, each in a thread: libsndfile (through
cffi), numpy's loops and the compiled meters release the GIL, so on a second core the next
blocks decode and the last ones are measured and encoded while the engine renders this one
(decode, true peak, dither and FLAC encode were ~40% of a 4-minute mp3's render, serial).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")
QUEUED = 4  # items in flight between the threads: enough to cover a slow block, small in memory
_POLL_S = 0.05  # how often a waiting thread checks whether the other side stopped
_END = object()


def _put(into: queue.Queue, item: object, stopped: Callable[[], bool]) -> bool:
    """Put ``item``, waiting for room, unless ``stopped()`` first (then False)."""
    while not stopped():
        try:
            into.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def ahead(items: Callable[[], Iterator[Item]], name: str) -> Iterator[Item]:
    """``items()``'s items, produced in a thread up to QUEUED ahead of the caller. What it
    raises is raised here, in order; a caller that stops early (break, an error, Ctrl+C)
    stops the thread, and the thread is gone when this generator is."""
    made: queue.Queue = queue.Queue(QUEUED)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items():
                if not _put(made, item, stop.is_set):
                    return
            _put(made, _END, stop.is_set)
        except BaseException as error:  # handed to the caller, who raises it
            _put(made, error, stop.is_set)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := made.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class Behind(Generic[Item]):
    """``consume(item)`` for each item ``put``, in order, in a thread up to QUEUED behind the
    caller (a context manager: leaving it waits for the last item). What ``consume`` raises
    is raised in the caller, at its next ``put`` or on leaving; a caller leaving on an error
    (or Ctrl+C) stops the thread without consuming the rest."""

    def __init__(self, consume: Callable[[Item], None], name: str) -> None:
        self._items: queue.Queue = queue.Queue(QUEUED)
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(consume,), name=name, daemon=True)

    def __enter__(self) -> Behind[Item]:
        self._thread.start()
        return self

    def put(self, item: Item) -> None:
        if not _put(self._items, item, lambda: self._failure is not None):
            self._raise_failure()

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.put(_END)
        else:
            self._stop.set()
        self._thread.join()
        if kind is None:
            self._raise_failure()

    def _run(self, consume: Callable[[Item], None]) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._items.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                consume(item)
        except BaseException as error:  # handed to the caller, who raises it
            self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
