"""A whole file's genre: the model's evidence over its windows, averaged (what
`classify` reports, and what a whole-track render's EQ is chosen by).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.config import SILENCE_GATE_DBFS
from ..errors import InteleqError
from ..io import files
from .interface import GenreListener


# A whole file is heard in windows side by side (every sample once: a window a second heard
# each sample three times over), evaluated this many at a time (one forward pass, one compiled
# shape; 8 costs the tagger 12% less per window than 1, and pads a short file less than 16).
BATCH = 8
# A longer file is heard in at most this many windows, evenly spaced (2 minutes of it at 3 s):
# the tagger's 38 ms a window were 80% of a 4-minute track's verdict. On 33 four-minute
# tracks of 8 songs of one genre each (both corpora), the probabilities moved by 0.023 mean
# (0.064 at most), 2 close verdicts changed (one to the right genre, one away: 30 right either way).
MAX_WINDOWS = 40


@dataclass
class Classified:
    """A whole file's verdict: the mean of its windows' evidence."""

    genre: str  # a class, or "unsure"
    probabilities: dict[str, float]
    music: float
    top_tags: list[tuple[str, float]]  # the tagger's own view (a tagger model only)
    silent: bool = False  # nothing above the -60 dBFS gate anywhere: unsure


def classify_file(path: Path, model: GenreListener, also: Callable[[np.ndarray], None] | None = None) -> Classified:
    """The model's verdict on a whole file, read in blocks; ``also`` sees every block."""
    from .classifier import MUSIC_THRESHOLD, UNSURE

    info = files.read_info(path)
    try:
        model.check_sample_rate(info.sample_rate)
    except InteleqError as error:
        raise type(error)(f"{path}: {error}") from None
    tracker = model.tracker(info.sample_rate, info.channels)
    every = model.window_s * max(1, math.ceil(info.frames / info.sample_rate / model.window_s / MAX_WINDOWS))
    windows, judged, due, silent = [], [], [model.window_s], [0]
    judge = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inteleq-judge")

    def evaluate() -> None:  # in the judge's thread, while this one decodes on
        batch = np.stack(windows + windows[-1:] * (BATCH - len(windows)))  # padded: one compiled shape
        judged.append((judge.submit(model.evidence_batch, batch), len(windows)))
        windows.clear()

    def on_tick(tracker) -> None:
        if tracker.seconds + 1e-9 >= due[0]:
            due[0] += every
            if tracker.loudest_db() < SILENCE_GATE_DBFS:
                silent[0] += 1  # nothing above the gate: no evidence of any genre
                return
            windows.append(model.heard(tracker))
            if len(windows) == BATCH:
                evaluate()

    try:
        for block in files.stream(path):
            tracker.push(block, on_tick)
            if also is not None:
                also(block)
        if windows:
            evaluate()
        heard = [evidence for future, count in judged for evidence in future.result()[:count]]
    finally:
        judge.shutdown(cancel_futures=True)
    if not heard and silent[0]:
        return Classified(UNSURE, {name: 0.0 for name in model.classes}, 0.0, [], silent=True)
    if not heard:
        raise InteleqError(f"{path}: shorter than the {model.window_s:.3g} s the model listens to")
    probabilities = np.mean([e.probabilities for e in heard], axis=0)
    music = float(np.mean([e.music for e in heard]))
    genre = UNSURE if music < MUSIC_THRESHOLD else model.classes[int(np.argmax(probabilities))]
    tags = []
    if heard[0].tag_logits is not None:
        mean = 1.0 / (1.0 + np.exp(-np.mean([e.tag_logits for e in heard], axis=0)))
        tags = [(model.tagger.tags[i], round(float(mean[i]), 3)) for i in np.argsort(-mean)[:5]]
    return Classified(genre, {n: round(float(p), 4) for n, p in zip(model.classes, probabilities)},
                      round(music, 4), tags)
