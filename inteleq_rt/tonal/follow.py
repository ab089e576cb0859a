"""Live range mode's ear: the stream's long-term balance, and the correction each genre's
range asks of it, refreshed once a second beside the audio path.

It reads the engine's input ring through its ``ClassifierPort`` (as the classifier does, from
its own position, starting from now), measures
with the same ``LongTermSpectrum`` a whole-track render uses, forgetting over ``memory_s``
so a new song takes over within a minute, and fits every genre's range correction as gains
of the fixed LAYOUT chain. The engine picks (or blends) the rows of the genre it plays, and
ramps its gains there: the audio thread never fits anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.curve_eq import LAYOUT
from ..engine.ring import RingReader
from .rule import Limits, range_correction
from .spectrum import LongTermSpectrum
from .targets import GenreRange

if TYPE_CHECKING:
    from ..engine.port import ClassifierPort

MEMORY_S = 30.0  # about a song's verse and chorus: long enough to be a balance, not a moment
SETTLE_S = 5.0  # music heard before the first correction (an estimate from less is noise)


class RangeFollower:
    """``step`` listens and posts; ``listen()`` takes in what arrived, ``curves()`` is the
    correction per genre."""

    def __init__(self, ranges: dict[str, GenreRange], port: ClassifierPort, period_s: float = 1.0,
                 limits: Limits | None = None, memory_s: float = MEMORY_S) -> None:
        self.ranges = ranges
        self.limits = limits or Limits()
        self.port = port
        self.spectrum = LongTermSpectrum(port.sample_rate, memory_s)
        self.period_frames = int(period_s * port.sample_rate)
        self._settle_frames = int(SETTLE_S * port.sample_rate)
        self._reader = RingReader(port.ring)
        self._curves = np.zeros((len(port.genres), len(LAYOUT)))
        self._since_curves = 0
        self.balance: np.ndarray | None = None  # the balance the curves were last fitted to

    def listen(self) -> bool:
        """Measure the audio that arrived since the last call; True when new curves are due."""
        for audio in self._reader.new_audio():
            self.spectrum.add(audio)
            self._since_curves += audio.shape[0]
        heard = self.spectrum.frames_heard * self.spectrum.frame // 2
        if self._since_curves < self.period_frames or heard < self._settle_frames:
            return False
        self._since_curves = 0
        return True

    def step(self, holding: bool = False) -> None:
        """Listen, and post the curves when due, unless ``holding`` (the classifier deciding
        beside it has no genre yet or is unsure: that holds the correction, as it holds the
        genre)."""
        if self.listen() and not holding:
            self.port.post_curves(self.curves())

    def curves(self) -> np.ndarray:
        """Gains of the LAYOUT filters per genre (rows in ``genres`` order; zeros for a genre
        without a range), at full amount, within the user's limits."""
        self.balance = balance = self.spectrum.balance_db()
        for row, genre in enumerate(self.port.genres):
            if genre in self.ranges:
                self._curves[row] = self.limits.fit(range_correction(balance, self.ranges[genre]), balance)
        return self._curves
