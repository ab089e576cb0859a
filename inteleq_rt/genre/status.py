"""The classifier process's status record: what it last decided, and signs of its life.

A float64 array in the shared block (genre/process.py): the child writes, the parent reads.
The decision's fields (genre, probabilities, time, counts) are written under a sequence
lock (engine/seqlock.py), so a reader never pairs one decision's genre with the next one's
probabilities; the heartbeat, the failure flag and the ready time are single values, each
written once per event.
"""

from __future__ import annotations

import numpy as np

from ..engine.seqlock import PATIENCE_S, Seqlock

# heartbeat, the decision's sequence counter, decisions, unsure decisions, last decision time
# (s), genre index (-1: unsure, -2: none yet), music, last call (ms), p99 of its calls (ms),
# error flag, when it was ready to listen (time.time()); then one probability per class
(HEARTBEAT, SEQUENCE, DECISIONS, UNSURE_COUNT, TIME, GENRE, MUSIC, CALL_MS, CALL_P99_MS, FAILED,
 READY_AT) = range(11)
FIELDS = 11
NONE_YET, UNSURE_INDEX = -2.0, -1.0


class StatusRecord:
    """The record over ``values`` (FIELDS + one per class), for ``genres`` and ``classes``."""

    def __init__(self, values: np.ndarray, genres: tuple[str, ...], classes: tuple[str, ...]) -> None:
        self.values, self.genres, self.classes = values, genres, classes
        self._lock = Seqlock(values[SEQUENCE : SEQUENCE + 1])

    @staticmethod
    def size(classes: int) -> int:
        """Float64 values the record takes."""
        return FIELDS + classes

    def clear(self) -> None:
        self.values[:] = 0.0
        self.values[GENRE] = NONE_YET

    def writer_gone(self) -> None:
        """The child died or hung, and is gone: see Seqlock.writer_gone."""
        self._lock.writer_gone()

    # -- the child's side ---------------------------------------------------------------------
    def publish(self, classifier) -> None:
        """``classifier``'s (a GenreClassifier) latest decision and call times, if new."""
        from .classifier import UNSURE

        latest, values = classifier.latest, self.values
        if latest is None or classifier.decided == values[DECISIONS]:
            return
        self._lock.begin()
        values[FIELDS:] = [latest.probabilities[c] for c in self.classes]
        values[TIME], values[MUSIC] = latest.time_s, latest.music
        values[GENRE] = UNSURE_INDEX if latest.genre == UNSURE else self.genres.index(latest.genre)
        if classifier.call_seconds:
            values[CALL_MS] = classifier.call_seconds[-1] * 1e3
            values[CALL_P99_MS] = np.percentile(np.array(classifier.call_seconds)[-1000:], 99) * 1e3
        values[UNSURE_COUNT] = classifier.unsure
        values[DECISIONS] = classifier.decided
        self._lock.end()

    # -- the parent's side --------------------------------------------------------------------
    def copy(self) -> np.ndarray:
        """A consistent copy of the whole record (one decision's fields together)."""
        return self._lock.read(self.values.copy, PATIENCE_S)

    def latest(self):
        """The last decision (a classifier.Decision), or None before the first."""
        from .classifier import UNSURE, Decision

        values = self.copy()
        if values[GENRE] == NONE_YET:
            return None
        genre = UNSURE if values[GENRE] < 0 else self.genres[int(values[GENRE])]
        return Decision(float(values[TIME]), genre, dict(zip(self.classes, values[FIELDS:].tolist())),
                        float(values[MUSIC]))
