"""The classifier process's status record: what it last decided, and signs of its life.

Named float64 fields (``status_dtype``) in the shared block (genre/process.py): the child
writes, the parent reads. The decision's fields (genre, probabilities, time, counts) are written under a sequence
lock (engine/seqlock.py), so a reader never pairs one decision's genre with the next one's
probabilities; the heartbeat, the failure flag and the ready time are single values, each
written once per event. In range mode the record ends with the stream's balance as the
follower last judged it (one value per 1/3-octave band, for the live panel), under the lock too.
"""

from __future__ import annotations

import numpy as np

from ..engine.seqlock import PATIENCE_S, Seqlock

NONE_YET, UNSURE_INDEX = -2.0, -1.0  # the genre field before a decision, and for "unsure"


def status_dtype(classes: int, bands: int = 0) -> np.dtype:
    """The record's fields by name (float64 each: plain numbers in shared memory). The genre
    is an index into the engine's genres (UNSURE_INDEX, NONE_YET); ``ready_at`` is time.time()
    when the child started listening; ``balance_db`` is NaN until the follower's first."""
    return np.dtype([("heartbeat", "f8"), ("sequence", "f8"), ("decisions", "f8"), ("unsure_decisions", "f8"),
                     ("time_s", "f8"), ("genre", "f8"), ("music", "f8"), ("call_ms", "f8"), ("call_p99_ms", "f8"),
                     ("failed", "f8"), ("ready_at", "f8"), ("probabilities", "f8", (classes,)),
                     ("balance_db", "f8", (bands,))])


class StatusRecord:
    """The record over ``fields`` (a 0-d array of ``status_dtype``), for ``genres`` and
    ``classes``."""

    def __init__(self, fields: np.ndarray, genres: tuple[str, ...], classes: tuple[str, ...]) -> None:
        self.fields, self.genres, self.classes = fields, genres, classes
        self._lock = Seqlock(fields["sequence"].reshape(1))

    @staticmethod
    def size(classes: int, bands: int = 0) -> int:
        """Bytes the record takes."""
        return status_dtype(classes, bands).itemsize

    def clear(self) -> None:
        self.fields[...] = 0.0
        self.fields["genre"] = NONE_YET
        self.fields["balance_db"] = np.nan

    def writer_gone(self) -> None:
        """The child died or hung, and is gone: see Seqlock.writer_gone."""
        self._lock.writer_gone()

    # -- the child's side ---------------------------------------------------------------------
    def publish(self, classifier) -> None:
        """``classifier``'s (a GenreClassifier) latest decision and call times, if new."""
        from .classifier import UNSURE

        latest, fields = classifier.latest, self.fields
        if latest is None or classifier.decided == fields["decisions"]:
            return
        self._lock.begin()
        fields["probabilities"] = [latest.probabilities[c] for c in self.classes]
        fields["time_s"], fields["music"] = latest.time_s, latest.music
        fields["genre"] = UNSURE_INDEX if latest.genre == UNSURE else self.genres.index(latest.genre)
        if classifier.call_seconds:
            fields["call_ms"] = classifier.call_seconds[-1] * 1e3
            fields["call_p99_ms"] = np.percentile(np.array(classifier.call_seconds)[-1000:], 99) * 1e3
        fields["unsure_decisions"] = classifier.unsure
        fields["decisions"] = classifier.decided
        self._lock.end()

    def publish_balance(self, balance_db: np.ndarray) -> None:
        """The balance the range follower last judged (dB per band; NaN where unmeasured)."""
        self._lock.begin()
        self.fields["balance_db"] = balance_db
        self._lock.end()

    # -- the parent's side --------------------------------------------------------------------
    def copy(self) -> np.ndarray:
        """A consistent copy of the whole record (one decision's fields together)."""
        return self._lock.read(self.fields.copy, PATIENCE_S)

    def latest(self):
        """The last decision (a classifier.Decision), or None before the first."""
        from .classifier import UNSURE, Decision

        fields = self.copy()
        if fields["genre"] == NONE_YET:
            return None
        genre = UNSURE if fields["genre"] < 0 else self.genres[int(fields["genre"])]
        return Decision(float(fields["time_s"]), genre, dict(zip(self.classes, fields["probabilities"].tolist())),
                        float(fields["music"]))

    def balance(self) -> np.ndarray | None:
        """The balance the follower last judged, or None before the first (or without one)."""
        balance = self.copy()["balance_db"]
        return None if not len(balance) or np.isnan(balance).all() else balance
