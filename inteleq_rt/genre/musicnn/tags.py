"""The tagger's view of a stream: mel frames as they arrive, and the last 3 s as a patch.

``TagTracker`` serves live streams and whole files alike: push audio of any length (any
rate and channel count), and whenever a full patch (187 frames) is held, ``patch()`` is the
latest one, brought to the tagger's level (``mel.patch_log_mel``). ``tag_file`` is the
training side: the same frames (``MelStream``, through ``mel.mel_power``) of a whole signal,
a patch every ``step_frames``, made by the same ``patch_log_mel``.
"""

from __future__ import annotations

import numpy as np

from .mel import HOP, N_MELS, PATCH_FRAMES, SAMPLE_RATE, MelStream, mel_power, patch_log_mel
from .tagger import EMBEDDING_SIZE, Tagger, TagOutputs

FRAME_S = HOP / SAMPLE_RATE


class TagTracker:
    """The last 3 s of mel power frames and of frame levels, for one stream."""

    def __init__(self, sample_rate: float, channels: int) -> None:
        self.mel = MelStream(sample_rate, channels)
        self._frames = np.zeros((2 * PATCH_FRAMES, N_MELS), np.float32)  # a ring, written twice over
        self._levels = np.full(2 * PATCH_FRAMES, -120.0)  # likewise
        self.count = 0

    @property
    def seconds(self) -> float:
        """Stream time of the newest frame."""
        return self.count * FRAME_S

    def push(self, audio: np.ndarray, on_tick=None, last: bool = False) -> None:
        """Analyse new audio (frames, channels); ``on_tick(tracker)`` runs after every new frame."""
        frames = self.mel.push(audio, last)
        for row, level in zip(frames, self.mel.levels_db):  # 62 frames a second
            slot = self.count % PATCH_FRAMES
            self._frames[slot] = row
            self._frames[slot + PATCH_FRAMES] = row
            self._levels[slot] = self._levels[slot + PATCH_FRAMES] = level
            self.count += 1
            if on_tick is not None:
                on_tick(self)

    @property
    def ready(self) -> bool:
        return self.count >= PATCH_FRAMES

    def patch(self) -> np.ndarray:
        """The newest 187 frames, oldest first, as the tagger hears them (a new array)."""
        start = self.count % PATCH_FRAMES
        return patch_log_mel(self._frames[start : start + PATCH_FRAMES], self._levels[start : start + PATCH_FRAMES])

    def quietest_db(self) -> float:
        """The lowest frame level over the patch (silence between songs reads below -60)."""
        return float(self._levels[: min(self.count, PATCH_FRAMES)].min(initial=0.0))

    def loudest_db(self) -> float:
        """The highest frame level over the patch (a silent window reads below -60)."""
        return float(self._levels[: min(self.count, PATCH_FRAMES)].max(initial=-120.0))


def tag_file(audio: np.ndarray, sample_rate: float, tagger: Tagger, step_frames: int,
             batch: int = 16) -> tuple[np.ndarray, TagOutputs]:
    """A whole signal's patches every ``step_frames`` (after the first full one): their end
    times (s) and the tagger's outputs on them, exactly what a live tracker would see."""
    frames, levels = mel_power(audio, sample_rate)
    ends = np.arange(PATCH_FRAMES, len(frames) + 1, step_frames)
    patches = np.stack([patch_log_mel(frames[end - PATCH_FRAMES : end], levels[end - PATCH_FRAMES : end])
                        for end in ends]) if len(ends) else np.zeros(
        (0, PATCH_FRAMES, N_MELS), np.float32)
    outputs = [tagger.tag(patches[i : i + batch]) for i in range(0, len(patches), batch)]
    logits = np.concatenate([o.logits for o in outputs]) if outputs else np.zeros((0, len(tagger.tags)))
    embedding = np.concatenate([o.embedding for o in outputs]) if outputs else np.zeros((0, EMBEDDING_SIZE))
    return ends * FRAME_S, TagOutputs(logits, embedding)
