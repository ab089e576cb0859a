"""Genre decisions beside the audio path.

The classifier reads the engine's input ring (the audio thread only copies blocks into it)
through the engine's ``ClassifierPort`` (engine/port.py),
runs the model's own tracker over that audio (the filterbank features, or the tagger's mel
frames), and every ``period_s`` of stream time asks the model for its evidence, smooths it
(exponential averaging) and decides:

* not music (speech, noise, tones: the model's music evidence below one half), or no class
  clearly ahead (the smoothed top probability under ``confidence``): "unsure", and nothing
  is posted, so the EQ holds its genre (or stays flat before the first decision);
* otherwise the leading class, switching only when another leads by ``margin``;

and a change of genre stands only once the same challenger has won ``patience`` decisions
in a row, so similar classes do not flicker.

Through silence, and until its window again holds nothing else, it holds what it had. It can
be stepped synchronously (offline rendering: deterministic, as fast as the CPU allows) or run
in its own process (live, process.py), where it never makes the audio callback wait.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..engine.config import SILENCE_GATE_DBFS
from ..engine.ring import RingReader
from ..errors import InteleqError
from .interface import GenreListener

if TYPE_CHECKING:
    from ..engine.port import ClassifierPort

UNSURE = "unsure"
MUSIC_THRESHOLD = 0.5  # below this music evidence, the classifier is unsure
RECENT = 3600  # decisions and call times kept for the summary: an hour at one decision a second


@dataclass(frozen=True)
class Decision:
    time_s: float
    genre: str  # a class, or "unsure"
    probabilities: dict[str, float]
    music: float = 1.0


class GenreClassifier:
    """Turns the engine's input into genre decisions; ``step`` does whatever work is due."""

    def __init__(self, port: ClassifierPort, model: GenreListener, period_s: float = 1.0, smoothing_s: float = 4.0,
                 margin: float = 0.2, confidence: float = 0.4, patience: int = 2, blend: bool = False) -> None:
        if port.ring is None:
            raise ValueError("the engine keeps no input for a classifier (EngineConfig.input_ring_s)")
        missing = [c for c in model.classes if c not in port.genres]
        if missing:
            raise InteleqError(f"the model's classes {', '.join(missing)} have no preset")
        model.check_sample_rate(port.sample_rate)
        self.port = port
        self.model = model
        self.period_s = period_s
        self.smoothing = 1.0 - math.exp(-period_s / smoothing_s)
        self.margin = margin
        self.confidence = confidence
        self.patience = patience
        self._challenger: tuple[str, int] = ("", 0)  # who would replace the genre, for how many decisions
        self.blend = blend
        self.tracker = model.tracker(port.sample_rate, port.channels)
        self._reader = RingReader(port.ring)  # from now: a classifier's new process hears no old audio
        self._next_decision_s = model.window_s
        self.smoothed: np.ndarray | None = None
        self._music = 1.0
        self.genre: str | None = None  # the last genre posted (None before the first)
        self.latest: Decision | None = None
        # the recent decisions and call times (a live run goes on for hours: kept bounded), and counts
        self.decisions: deque[Decision] = deque(maxlen=RECENT)
        self.call_seconds: deque[float] = deque(maxlen=RECENT)
        self.decided = self.unsure = 0
        self.restarts = 0  # stepped in its caller's process, it is never restarted (process.py's is)
        model.warm_up()

    def summary(self) -> dict:
        """Decisions made and the network's call time, for a run's summary."""
        calls = np.array(self.call_seconds) * 1e3
        summary = {"decisions": self.decided, "unsure_decisions": self.unsure}
        if len(calls):
            summary["classifier_call_median_ms"] = round(float(np.median(calls)), 3)
            summary["classifier_call_p99_ms"] = round(float(np.percentile(calls, 99)), 3)
        if self.lost_frames:
            summary["classifier_lost_frames"] = self.lost_frames
        return summary

    @property
    def lost_frames(self) -> int:
        """Input the audio thread overwrote before this classifier read it."""
        return self._reader.lost_frames

    def step(self) -> None:
        """Analyse the audio that arrived since the last step; decide when a period is due."""
        for audio in self._reader.new_audio():
            self.tracker.push(audio, self._on_tick)

    def _on_tick(self, tracker) -> None:
        if tracker.seconds + 1e-9 < self._next_decision_s:
            return
        self._next_decision_s += self.period_s
        if tracker.quietest_db() < SILENCE_GATE_DBFS:
            return  # silence (between songs, a muted input): keep the genre that was playing
        started = time.perf_counter()
        evidence = self.model.evidence(tracker)
        self.call_seconds.append(time.perf_counter() - started)
        self._decide(tracker.seconds, evidence)

    def _decide(self, time_s: float, evidence) -> None:
        first = self.smoothed is None
        if first:
            self.smoothed = evidence.probabilities.astype(float)
        else:
            self.smoothed += self.smoothing * (evidence.probabilities - self.smoothed)
        self._music = evidence.music if first else self._music + self.smoothing * (evidence.music - self._music)
        shares = {name: float(p) for name, p in zip(self.model.classes, self.smoothed)}
        genre = self._persist(self._choose())
        if genre != UNSURE:
            self.genre = genre
            self.port.post_decision(genre, shares if self.blend else None)
        self.latest = Decision(time_s, genre, shares, round(self._music, 4))
        self.decisions.append(self.latest)
        self.decided += 1
        self.unsure += genre == UNSURE

    def _persist(self, choice: str) -> str:
        """A change of genre stands once the same challenger won ``patience`` decisions in a row
        (the first genre, and unsure, need no patience: holding is what unsure does)."""
        if choice in (UNSURE, self.genre) or self.genre is None:
            self._challenger = ("", 0)
            return choice
        name, count = self._challenger
        self._challenger = (choice, count + 1 if name == choice else 1)
        return choice if self._challenger[1] >= self.patience else self.genre

    def _choose(self) -> str:
        if self._music < MUSIC_THRESHOLD:
            return UNSURE
        best = int(np.argmax(self.smoothed))
        if self.genre in self.model.classes:
            current = self.model.classes.index(self.genre)
            if best == current or self.smoothed[best] - self.smoothed[current] <= self.margin:
                return self.genre
        return self.model.classes[best] if self.smoothed[best] >= self.confidence else UNSURE


def holds_correction(classifier: GenreClassifier | None) -> bool:
    """Whether range mode's follower holds its correction, as the classifier holds its genre:
    one decides beside it and has no genre yet, or is unsure (a chosen genre never holds)."""
    return classifier is not None and (classifier.latest is None or classifier.latest.genre == UNSURE)
