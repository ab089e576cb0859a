"""The classifier process's status record: what it last decided, and signs of its life.

A float64 array in the shared block (genre/process.py): the child writes, the parent reads.
The decision's fields (genre, probabilities, time, counts) are written under a sequence
lock (engine/seqlock.py), so a reader never pairs one decision's genre with the next one's
probabilities; the heartbeat, the failure flag and the ready time are single values, each
written once per event. In range mode the record ends with the stream's balance as the
follower last judged it (one value per 1/3-octave band, for the live panel), under the lock too.
"""

from __future__ import annotations

import numpy as np

from ..engine.seqlock import PATIENCE_S, Seqlock

# heartbeat, the decision's sequence counter, decisions, unsure decisions, last decision time
# (s), genre index (-1: unsure, -2: none yet), music, last call (ms), p99 of its calls (ms),
# error flag, when it was ready to listen (time.time()); then one probability per class, then
# (range mode) the balance, NaN until the first
(HEARTBEAT, SEQUENCE, DECISIONS, UNSURE_COUNT, TIME, GENRE, MUSIC, CALL_MS, CALL_P99_MS, FAILED,
 READY_AT) = range(11)
FIELDS = 11
NONE_YET, UNSURE_INDEX = -2.0, -1.0


class StatusRecord:
    """The record over ``values`` (``size`` of them), for ``genres`` and ``classes``, with
    ``bands`` values of balance."""

    def __init__(self, values: np.ndarray, genres: tuple[str, ...], classes: tuple[str, ...], bands: int = 0) -> None:
        self.values, self.genres, self.classes = values, genres, classes
        self._balance_at = FIELDS + len(classes)
        self._lock = Seqlock(values[SEQUENCE : SEQUENCE + 1])

    @staticmethod
    def size(classes: int, bands: int = 0) -> int:
        """Float64 values the record takes."""
        return FIELDS + classes + bands

    def clear(self) -> None:
        self.values[:] = 0.0
        self.values[GENRE] = NONE_YET
        self.values[self._balance_at :] = np.nan

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
        values[FIELDS : self._balance_at] = [latest.probabilities[c] for c in self.classes]
        values[TIME], values[MUSIC] = latest.time_s, latest.music
        values[GENRE] = UNSURE_INDEX if latest.genre == UNSURE else self.genres.index(latest.genre)
        if classifier.call_seconds:
            values[CALL_MS] = classifier.call_seconds[-1] * 1e3
            values[CALL_P99_MS] = np.percentile(np.array(classifier.call_seconds)[-1000:], 99) * 1e3
        values[UNSURE_COUNT] = classifier.unsure
        values[DECISIONS] = classifier.decided
        self._lock.end()

    def publish_balance(self, balance_db: np.ndarray) -> None:
        """The balance the range follower last judged (dB per band; NaN where unmeasured)."""
        self._lock.begin()
        self.values[self._balance_at :] = balance_db
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
        return Decision(float(values[TIME]), genre,
                        dict(zip(self.classes, values[FIELDS : self._balance_at].tolist())), float(values[MUSIC]))

    def balance(self) -> np.ndarray | None:
        """The balance the follower last judged, or None before the first (or without one)."""
        balance = self.copy()[self._balance_at :]
        return None if not len(balance) or np.isnan(balance).all() else balance
