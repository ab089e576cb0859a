"""Commands to the engine: one fixed-layout numeric record per sender, read once per block.

A record is a float64 array: a sequence counter (engine/seqlock.py), then the fields. A
sender (the user's controls, the classifier) is its only writer; the audio thread its only
reader, which copies the fields only when the counter moved and never waits: a record
mid-write is simply read at the next block. The layout is plain numbers, so a record can
live in shared memory and be written by another process.

Fields: a genre (index into the engine's genre names; -1: none chosen), an amount (0..1;
NaN: unchanged), bypass (1: the EQ is bypassed, 0: not, NaN: unchanged), and blend weights
over the genres (all 0: no blend); range mode adds each genre's correction, ``curve_filters``
gains per genre (NaN first: none posted yet). ``Arbiter`` is the audio thread's reader of
both records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .seqlock import Seqlock

if TYPE_CHECKING:
    from .eq import Bypass, Equalizer

SEQUENCE, GENRE, AMOUNT, BYPASS, BLEND = 0, 1, 2, 3, 4
NO_GENRE = -1.0


class CommandRecord:
    """One sender's latest commands (see the module's docstring for the protocol)."""

    def __init__(self, genres: int, buffer: np.ndarray | None = None, curve_filters: int = 0) -> None:
        size = self.size(genres, curve_filters)
        self.values = np.zeros(size) if buffer is None else buffer[:size]
        self._lock = Seqlock(self.values[SEQUENCE : SEQUENCE + 1])
        self.values[GENRE] = NO_GENRE
        self.values[AMOUNT] = self.values[BYPASS] = np.nan
        self._curves_at = BLEND + genres
        self.values[self._curves_at :] = np.nan
        self._curve_shape = (genres, curve_filters)
        self._copy = self.values.copy()
        self._seen = 0.0

    @staticmethod
    def size(genres: int, curve_filters: int = 0) -> int:
        """Float64 values a record over this many genres takes (in shared memory too)."""
        return BLEND + genres * (1 + curve_filters)

    # -- the sender's side --------------------------------------------------------------------
    def post(self, genre: int | None = None, amount: float | None = None, bypass: bool | None = None,
             blend: np.ndarray | None = None, clear_blend: bool = False, curves: np.ndarray | None = None) -> None:
        """Publish new values for the fields given; the others keep what they had."""
        values = self.values
        self._lock.begin()
        if genre is not None:
            values[GENRE] = float(genre)
        if amount is not None:
            values[AMOUNT] = float(amount)
        if bypass is not None:
            values[BYPASS] = float(bypass)
        if blend is not None:
            values[BLEND : self._curves_at] = blend
        elif clear_blend:
            values[BLEND : self._curves_at] = 0.0
        if curves is not None:
            values[self._curves_at :] = curves.ravel()
        self._lock.end()

    def writer_gone(self) -> None:
        """The sender (another process) died or was stopped mid-post: see Seqlock.writer_gone."""
        self._lock.writer_gone()

    def post_decision(self, genres: tuple[str, ...], genre: str, blend: dict[str, float] | None) -> None:
        """The classifier's decision: ``genre`` by its index in ``genres``, and (match mode) the
        weights of the genres' targets to blend, or none."""
        weights = None if blend is None else np.array([max(0.0, blend.get(g, 0.0)) for g in genres])
        self.post(genre=genres.index(genre), blend=weights, clear_blend=blend is None)

    # -- the audio thread's side --------------------------------------------------------------
    def read(self) -> np.ndarray | None:
        """The fields, if they changed since the last successful read and are consistent;
        None otherwise (nothing new, or a write under way: try again next block)."""
        version = self._lock.try_copy(self.values, self._copy, self._seen)
        if version is None:
            return None
        self._seen = version
        return self._copy

    @staticmethod
    def genre(fields: np.ndarray) -> int | None:
        index = int(fields[GENRE])
        return None if index < 0 else index

    @staticmethod
    def amount(fields: np.ndarray) -> float | None:
        value = fields[AMOUNT]
        return None if np.isnan(value) else float(value)

    @staticmethod
    def bypass(fields: np.ndarray) -> bool | None:
        value = fields[BYPASS]
        return None if np.isnan(value) else bool(value)

    def blend(self, fields: np.ndarray) -> np.ndarray | None:
        weights = fields[BLEND : self._curves_at]
        return weights if weights.any() else None

    def curves(self, fields: np.ndarray) -> np.ndarray | None:
        """Range mode's gains, genres x filters (a view), or None before the first post."""
        curves = fields[self._curves_at :]
        return None if not len(curves) or np.isnan(curves[0]) else curves.reshape(self._curve_shape)


class Arbiter:
    """What the two senders ask of the EQ, read once per block: the user's genre outranks the
    classifier's (and its blend); a genre switch refused mid-fade is tried again next block."""

    def __init__(self, user: CommandRecord, classifier: CommandRecord, genres: tuple[str, ...], eq: Equalizer,
                 bypass: Bypass) -> None:
        self.user, self.classifier, self.genres, self.eq, self.bypass = user, classifier, genres, eq, bypass
        self._user_genre: int | None = None
        self._classifier_genre: int | None = None
        self._classifier_blend: np.ndarray | None = None

    def apply(self) -> None:
        eq = self.eq
        user = self.user.read()
        decided = self.classifier.read()
        if user is not None:
            self._user_genre = CommandRecord.genre(user)
            amount = CommandRecord.amount(user)
            if amount is not None:
                eq.set_amount(amount)
            bypass = CommandRecord.bypass(user)
            if bypass is not None:
                self.bypass.bypassed = bypass
        if decided is not None:
            self._classifier_genre = CommandRecord.genre(decided)
            self._classifier_blend = self.classifier.blend(decided)
            curves = self.classifier.curves(decided)
            if curves is not None:
                eq.set_curves(curves)
        if user is not None or decided is not None:
            eq.set_blend(self._classifier_blend if self._user_genre is None else None)
        wanted = self._user_genre if self._user_genre is not None else self._classifier_genre
        if wanted is not None and self.genres[wanted] != eq.target:
            eq.select(self.genres[wanted])
