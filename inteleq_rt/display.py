"""What a live run shows while it plays: meters, genre, EQ and load, on stderr.

On a terminal, a panel is redrawn in place; otherwise (a log, a pipe, CI) a plain line is
printed every few seconds, so logs stay readable. The panel is drawn by a child process
(``python -m inteleq_rt.panel``, at the lowest CPU priority) fed one JSON line per update,
as styled text rather than rich tables (panel.py). Both choices were measured at 256 frames on JACK,
classifier running, on a 2-core VM: rich tables drawn in the engine's process held the GIL
the audio callback needs (an xrun at nearly every redraw); in a child process they still
took 5.7 ms of CPU per redraw (6-16 xruns a minute); styled text takes ~1 ms (no xruns in
three 60 s runs).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO

import numpy as np

from .engine.presets import EqFilter
from .panel import Status, hz, plain_line

if TYPE_CHECKING:
    from .engine.engine import Engine
    from .engine.snapshot import Snapshot
    from .genre.classifier import GenreClassifier
    from .genre.process import ClassifierProcess
    from .io.streams import StreamStats
    from .tonal.targets import RangeVerdict

KIND_LABELS = {"low_shelf": "low shelf", "peak": "peak", "high_shelf": "high shelf"}


def read_status(engine: Engine, classifier: GenreClassifier | ClassifierProcess | None, stats: StreamStats | None,
                block_size: int, mode: str, controls: str | None = None, tonal: RangeVerdict | None = None,
                snapshot: Snapshot | None = None) -> Status:
    """Gather a ``Status`` from the engine's ``snapshot`` (by default one taken now), the
    classifier's latest decision, the stream's statistics, the terminal controls' state and
    (range mode) the balance's verdict."""
    from .engine.levels import power_db
    from .report import tonal_entry

    snap = snapshot or engine.snapshot()
    output = snap.output_band_ms is not None
    latest = classifier.latest if classifier is not None else None
    recent = stats.recent_durations(last=200) if stats is not None and stats.count else None
    return Status(
        time_s=snap.time_s,
        genre=snap.genre,
        crossfade=snap.crossfade,
        mode=mode,
        bands=[tuple(band) for band in engine.config.bands],
        input_db=power_db(snap.input_band_ms.mean(axis=0)).tolist(),
        output_db=power_db(snap.output_band_ms.mean(axis=0)).tolist() if output else None,
        input_overall_db=float(power_db(snap.input_overall_ms.mean())),
        output_overall_db=float(power_db(snap.output_overall_ms.mean())) if output else None,
        eq_gains=[(_eq_label(eq_filter), gain) for eq_filter, gain in snap.eq_gains],
        probabilities=dict(latest.probabilities) if latest is not None else None,
        callback_p99_s=float(np.percentile(recent, 99)) if recent is not None else None,
        block_period_s=block_size / engine.config.sample_rate,
        xruns=stats.xruns if stats is not None else 0,
        classifier_note=_classifier_note(latest, classifier.restarts if classifier is not None else 0),
        level_gain_db=snap.level_gain_db if engine.config.level_match else None,
        bypass=snap.bypass,
        limited_blocks=snap.limited_blocks,
        limiter_reduction_db=snap.limiter_reduction_db,
        controls=controls,
        tonal=tonal_entry(tonal) if tonal is not None else None,
    )


def _classifier_note(latest, restarts: int) -> str | None:
    """What the classifier is doing when it is not simply deciding: unsure, restarted."""
    from .genre.classifier import MUSIC_THRESHOLD, UNSURE

    notes = []
    if latest is not None and latest.genre == UNSURE:
        reason = "not music" if latest.music < MUSIC_THRESHOLD else "weak evidence"
        notes.append(f"unsure: {reason}, EQ holds")
    if restarts:
        notes.append(f"classifier restarted {restarts}x")
    return "; ".join(notes) or None


def _eq_label(eq_filter: EqFilter) -> str:
    return f"{KIND_LABELS.get(eq_filter.kind, eq_filter.kind)} {hz(eq_filter.frequency_hz)}Hz"



class StatusDisplay:
    """Shows a live run's status: a panel redrawn in place on a terminal, plain lines otherwise.

    Use as a context manager around the stream; call ``show`` from the supervising thread.
    If the panel's process cannot start or dies, the run goes on with plain lines.
    """

    def __init__(self, file: TextIO | None = None, every_s: float = 5.0) -> None:
        self.file = file or sys.stderr
        self.every_s = every_s
        self._painter: subprocess.Popen | None = None
        self._last_line = -float("inf")

    def __enter__(self) -> StatusDisplay:
        if self.file.isatty():
            try:
                self._painter = subprocess.Popen([sys.executable, "-m", "inteleq_rt.panel"], stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, stderr=self.file, text=True)
            except OSError:
                return self
            # Wait out its start-up (imports, ~0.2 s of CPU) before the stream starts beside it.
            if self._painter.stdout.readline() != "ready\n":
                self._drop_painter()
        return self

    def show(self, status: Status) -> None:
        if self._painter is not None:
            try:
                self._painter.stdin.write(json.dumps(asdict(status)) + "\n")
                self._painter.stdin.flush()
                return
            except OSError:  # it died (BrokenPipeError): carry on in plain lines
                self._drop_painter()
        if time.monotonic() - self._last_line >= self.every_s:
            self._last_line = time.monotonic()
            print(plain_line(status), file=self.file, flush=True)

    def __exit__(self, *exc) -> None:
        """Let the panel draw its last frame before the caller prints a summary below it."""
        if self._painter is not None:
            try:
                self._painter.stdin.close()
                self._painter.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._drop_painter()

    def _drop_painter(self) -> None:
        painter, self._painter = self._painter, None
        painter.kill()  # no-op when it has exited
        for pipe in (painter.stdin, painter.stdout):
            with contextlib.suppress(OSError):  # a broken pipe may fail to flush
                pipe.close()
        painter.wait()

