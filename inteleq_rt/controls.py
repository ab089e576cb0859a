"""Live controls from the terminal: keys that steer the engine while it plays.

    b          bypass on/off: A/B the EQ against the dry input, both at the same loudness
    n / p      next / previous genre (also the right / left arrow keys)
    a          back to automatic (or to the --genre the run started with)
    + / -      amount up / down by 10% (also the up / down arrow keys)

Each key is one post to the engine's user record, so the audio thread never waits on a key;
the engine crossfades each change. With stdin not a terminal (a pipe, a service, CI) the
controls are off and stdin is left alone. The terminal's mode is restored on every exit.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from typing import TextIO

AMOUNT_STEP = 0.1
HELP = "keys: b bypass  n/p genre  a auto  +/- amount"
_ARROWS = {"\x1b[A": "+", "\x1b[B": "-", "\x1b[C": "n", "\x1b[D": "p"}


class Controls:
    """Reads keys on a thread of its own while a live stream runs (a context manager)."""

    def __init__(self, engine, home_genre: str | None, stream: TextIO | None = None) -> None:
        """``home_genre``: where "a" returns (None: the classifier's choice)."""
        self.engine = engine
        self.home_genre = home_genre
        self.stream = stream or sys.stdin
        self.enabled = self.stream.isatty()
        self.bypassed = False
        self.amount = engine.config.amount
        self.genre = home_genre  # the user's choice; None: automatic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = None

    def __enter__(self) -> Controls:
        if self.enabled:
            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)  # keys arrive one by one, unechoed; Ctrl+C still interrupts
            self._thread = threading.Thread(target=self._read_keys, args=(fd,), name="inteleq-controls",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)

    def _read_keys(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                typed = os.read(fd, 32).decode(errors="ignore")
            except OSError:  # the terminal went away: the run goes on without controls
                return
            for arrow, key in _ARROWS.items():
                typed = typed.replace(arrow, key)
            for key in typed:
                self.press(key)

    def press(self, key: str) -> None:
        """Act on one key (unknown keys are ignored)."""
        engine = self.engine
        if key == "b":
            self.bypassed = not self.bypassed
            engine.set_bypass(self.bypassed)
        elif key in "np":
            genres = engine.genres
            current = genres.index(self.genre or engine.genre)
            self.genre = genres[(current + (1 if key == "n" else -1)) % len(genres)]
            engine.request_genre(self.genre)
        elif key == "a":
            self.genre = self.home_genre
            engine.request_genre(self.home_genre)
        elif key in "+=-":
            step = -AMOUNT_STEP if key == "-" else AMOUNT_STEP
            self.amount = round(min(max(self.amount + step, 0.0), 1.0), 2)
            engine.set_amount(self.amount)

    def mode(self, started_as: str) -> str:
        """How the genre in force is chosen now: the run's own way (``started_as``: "automatic",
        "genre NAME", ...), or "keys" once the keys chose another."""
        return started_as if self.genre == self.home_genre else "keys"

    def describe(self) -> str | None:
        """One line for the panel: the state the keys set, and the keys (None when off)."""
        if not self.enabled:
            return None
        genre = self.genre if self.genre is not None else "automatic"
        return (f"{'BYPASSED' if self.bypassed else 'EQ on'}  amount {self.amount:.0%}  genre {genre}"
                f"     {HELP}")
