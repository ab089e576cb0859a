"""Commands to the engine: one fixed-layout numeric record per sender, read once per block.

A record is a structured array of named float64 fields (``command_dtype``): a sequence
counter (engine/seqlock.py), then the commands. A sender (the user's controls, the classifier) is its only writer; the audio thread its only
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

NO_GENRE = -1.0


def command_dtype(genres: int, curve_filters: int = 0) -> np.dtype:
    """A record's fields by name; float64 each, so shared memory holds it as plain numbers."""
    return np.dtype([("sequence", "f8"), ("genre", "f8"), ("amount", "f8"), ("bypass", "f8"),
                     ("blend", "f8", (genres,)), ("curves", "f8", (genres, curve_filters))])


class CommandRecord:
    """One sender's latest commands (see the module's docstring for the protocol), over
    ``fields`` (a 0-d array of ``command_dtype``; shared memory, or its own when None)."""

    def __init__(self, genres: int, fields: np.ndarray | None = None, curve_filters: int = 0) -> None:
        dtype = command_dtype(genres, curve_filters)
        self.fields = np.zeros((), dtype) if fields is None else fields
        if self.fields.dtype != dtype:
            raise ValueError(f"a command record over {genres} genres and {curve_filters} curve filters "
                             f"has fields {dtype}, not {self.fields.dtype}")
        self._lock = Seqlock(self.fields["sequence"].reshape(1))
        self.fields["genre"] = NO_GENRE
        self.fields["amount"] = self.fields["bypass"] = np.nan
        self.fields["curves"] = np.nan
        self._copy = self.fields.copy()
        self._seen = 0.0

    @staticmethod
    def size(genres: int, curve_filters: int = 0) -> int:
        """Bytes a record over this many genres takes (in shared memory too)."""
        return command_dtype(genres, curve_filters).itemsize

    # -- the sender's side --------------------------------------------------------------------
    def post(self, genre: int | None = None, amount: float | None = None, bypass: bool | None = None,
             blend: np.ndarray | None = None, clear_blend: bool = False, curves: np.ndarray | None = None) -> None:
        """Publish new values for the fields given; the others keep what they had."""
        fields = self.fields
        self._lock.begin()
        if genre is not None:
            fields["genre"] = float(genre)
        if amount is not None:
            fields["amount"] = float(amount)
        if bypass is not None:
            fields["bypass"] = float(bypass)
        if blend is not None:
            fields["blend"] = blend
        elif clear_blend:
            fields["blend"] = 0.0
        if curves is not None:
            fields["curves"] = curves
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
        version = self._lock.try_copy(self.fields, self._copy, self._seen)
        if version is None:
            return None
        self._seen = version
        return self._copy

    @staticmethod
    def genre(fields: np.ndarray) -> int | None:
        index = int(fields["genre"])
        return None if index < 0 else index

    @staticmethod
    def amount(fields: np.ndarray) -> float | None:
        value = float(fields["amount"])
        return None if np.isnan(value) else value

    @staticmethod
    def bypass(fields: np.ndarray) -> bool | None:
        value = float(fields["bypass"])
        return None if np.isnan(value) else bool(value)

    @staticmethod
    def blend(fields: np.ndarray) -> np.ndarray | None:
        weights = fields["blend"]
        return weights if weights.any() else None

    @staticmethod
    def curves(fields: np.ndarray) -> np.ndarray | None:
        """Range mode's gains, genres x filters (a view), or None before the first post."""
        curves = fields["curves"]
        return None if not curves.size or np.isnan(curves[0, 0]) else curves


class Arbiter:
    """What the two senders ask of the EQ, read once per block: the user's genre outranks the
    classifier's (and its blend); a genre switch refused mid-fade is tried again next block."""

    def __init__(self, user: CommandRecord, classifier: CommandRecord, genres: tuple[str, ...], eq: Equalizer,
                 bypass: Bypass) -> None:
        from .eq import BlendingEqualizer  # here: the classifier's process reads records, never the EQ

        self.user, self.classifier, self.genres, self.eq, self.bypass = user, classifier, genres, eq, bypass
        self._blends = isinstance(eq, BlendingEqualizer)  # a preset chain is switched, never blended
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
        if self._blends and (user is not None or decided is not None):
            eq.set_blend(self._classifier_blend if self._user_genre is None else None)
        wanted = self._user_genre if self._user_genre is not None else self._classifier_genre
        if wanted is not None and self.genres[wanted] != eq.target:
            eq.select(self.genres[wanted])
