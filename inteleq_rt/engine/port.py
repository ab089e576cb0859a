"""The classifier's port into an engine: all that genre decisions see of it and say to it.

A classifier (and range mode's follower) reads the engine's input from its ring and posts
into the classifier's command record; it needs nothing else. The port is the same whether
the classifier is stepped between blocks in the engine's process (offline) or runs in its
own (live: ring and record in shared memory, genre/process.py), and it loads no numba, so the
classifier's process builds one without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .commands import CommandRecord
from .ring import InputRing


@dataclass(frozen=True)
class ClassifierPort:
    """An engine's input ring (None: it keeps none), the classifier's command record, the
    engine's genre names (the record's order) and its stream format."""

    ring: InputRing | None
    commands: CommandRecord
    genres: tuple[str, ...]
    sample_rate: int
    channels: int

    def post_decision(self, genre: str, blend: dict[str, float] | None = None) -> None:
        """The classifier's genre, and (match and range mode) the genres' weights to blend."""
        if genre not in self.genres:
            raise ValueError(f"unknown genre {genre!r}; available: {', '.join(sorted(self.genres))}")
        self.commands.post_decision(self.genres, genre, blend)

    def post_curves(self, curves: np.ndarray) -> None:
        """Range mode: each genre's correction (genres x curve filters gains, dB)."""
        self.commands.post(curves=curves)
