"""A sequence lock over one float64 cell: one writer, readers that never make it wait.

The writer makes the counter odd, writes its fields, then makes it even again; a reader
copies the fields while the counter is even and keeps the copy only if the counter did not
move across it. The cell is plain memory, so writer and readers may be threads of one
process or processes sharing memory. A writer in another process can die or be stopped
mid-write: its readers stop waiting after a patience (PATIENCE_S), and whoever replaces the
writer calls ``writer_gone`` first, so the counter is even again. It guards the command records (engine/commands.py),
the engine's published state (engine/snapshot.py) and the classifier's status
(genre/status.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")
PATIENCE_S = 0.05  # a write takes microseconds: a counter odd this long in another process has no writer running


class Seqlock:
    """The counter in ``cell`` (a one-value float64 view; its own when None)."""

    def __init__(self, cell: np.ndarray | None = None) -> None:
        self.cell = np.zeros(1) if cell is None else cell

    # -- the writer's side --------------------------------------------------------------------
    def begin(self) -> None:
        self.cell[0] += 1.0  # odd: a write is under way

    def end(self) -> None:
        self.cell[0] += 1.0

    def writer_gone(self) -> None:
        """The writer died or was stopped (and will not run again): end its write, if any."""
        if self.cell[0] % 2.0:
            self.cell[0] += 1.0

    # -- the readers' side --------------------------------------------------------------------
    def try_copy(self, source: np.ndarray, into: np.ndarray, seen: float) -> float | None:
        """Copy ``source`` into ``into`` if it changed since version ``seen``; the version
        copied, or None (nothing new, or a write under way: try again later). Never waits
        and allocates no array: the audio thread reads its commands this way."""
        before = self.cell[0]
        if before == seen or before % 2.0:
            return None
        into[...] = source
        return None if self.cell[0] != before else float(before)

    def read(self, copy: Callable[[], T], patience_s: float | None = None) -> T:
        """What ``copy()`` returns at a moment no write was under way, retried until then
        (for readers off the audio thread: the display, summaries); with a patience (a writer
        in another process), after that long as it stands, since then no write is running."""
        deadline = None if patience_s is None else time.monotonic() + patience_s
        while True:
            before = self.cell[0]
            if not before % 2.0 or (deadline is not None and time.monotonic() > deadline):
                copied = copy()
                if self.cell[0] == before:
                    return copied
            time.sleep(0)
