"""What a live run shows while it plays: meters, genre, EQ and load, on stderr.

On a terminal, a panel is redrawn in place; otherwise (a log, a pipe, CI) a plain line is
printed every few seconds, so logs stay readable. The panel is drawn by a child process
(``python -m inteleq_rt.display``, at the lowest CPU priority) fed one JSON line per update,
as styled text rather than rich tables. Both choices were measured at 256 frames on JACK,
classifier running, on a 2-core VM: rich tables drawn in the engine's process held the GIL
the audio callback needs (an xrun at nearly every redraw); in a child process they still
took 5.7 ms of CPU per redraw (6-16 xruns a minute); styled text takes ~1 ms (no xruns in
three 60 s runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, TextIO

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .engine.config import LEVEL_FLOOR_DB
from .engine.presets import MAX_CUT_DB, EqFilter

if TYPE_CHECKING:  # the panel's process imports only what drawing needs
    from .engine.engine import Engine
    from .genre.classifier import GenreClassifier
    from .io.streams import StreamStats

METER_FLOOR_DB = -72.0  # band meters span this..0 dBFS
METER_WIDTH = 24
PARTIAL_CELLS = ("", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589")  # 1/8 .. 7/8
KIND_LABELS = {"low_shelf": "low shelf", "peak": "peak", "high_shelf": "high shelf"}


@dataclass(frozen=True)
class Status:
    """One moment of a live run, as the display draws it (plain data: it travels as JSON)."""

    time_s: float
    genre: str
    crossfade: float | None  # 0..1 while fading to ``genre``
    mode: str  # how the genre is chosen: "automatic", "genre NAME" (--genre) or "keys"
    bands: list[tuple[float, float]]
    input_db: list[float]  # per band, dBFS, channels mixed by power
    output_db: list[float] | None
    input_overall_db: float
    output_overall_db: float | None
    eq_gains: list[tuple[str, float]]  # (filter, gain dB)
    probabilities: dict[str, float] | None
    callback_p99_s: float | None  # over the last few hundred callbacks
    block_period_s: float
    xruns: int
    classifier_note: str | None = None  # "unsure: not music", "restarted 1x", ...
    level_gain_db: float | None = None  # level matching's gain (None: off)
    bypass: float = 0.0  # 0: EQ heard .. 1: dry input
    limited_blocks: int = 0
    limiter_reduction_db: float = 0.0  # deepest since the start
    controls: str | None = None  # the keys' state and help (None: no terminal controls)


def read_status(engine: Engine, classifier: GenreClassifier | None, stats: StreamStats | None,
                block_size: int, mode: str, controls: str | None = None) -> Status:
    """Gather a ``Status`` from the engine's snapshot, the classifier's latest decision, the
    stream's statistics and the terminal controls' state."""
    from .engine.levels import power_db

    snap = engine.snapshot()
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
        classifier_note=_classifier_note(latest, getattr(classifier, "restarts", 0)),
        level_gain_db=snap.level_gain_db if engine.config.level_match else None,
        bypass=snap.bypass,
        limited_blocks=snap.limited_blocks,
        limiter_reduction_db=snap.limiter_reduction_db,
        controls=controls,
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


def _hz(frequency: float) -> str:
    return f"{frequency / 1000:g}k" if frequency >= 1000 else f"{frequency:g}"


def _level(db: float) -> str:
    return "  -inf" if db <= LEVEL_FLOOR_DB else f"{db:6.1f}"


def _eq_label(eq_filter: EqFilter) -> str:
    return f"{KIND_LABELS.get(eq_filter.kind, eq_filter.kind)} {_hz(eq_filter.frequency_hz)}Hz"


def _load(status: Status) -> str:
    if status.callback_p99_s is None:
        return "callback: waiting"
    share = status.callback_p99_s / status.block_period_s
    return (f"callback p99 {status.callback_p99_s * 1e6:.0f} us = {share:.1%} of the "
            f"{status.block_period_s * 1e3:.2f} ms block")


def _sound(status: Status) -> str:
    """Level matching, the limiter and bypass, in a few words."""
    level = "level match off" if status.level_gain_db is None else f"level {status.level_gain_db:+.1f} dB"
    limiter = (f"limiter {status.limited_blocks} blocks, deepest -{status.limiter_reduction_db:.1f} dB"
               if status.limited_blocks else "limiter idle")
    bypass = "" if status.bypass == 0.0 else "  BYPASSED" if status.bypass == 1.0 else f"  bypass {status.bypass:.0%}"
    return f"{level}  {limiter}{bypass}"


def _genre(status: Status) -> str:
    if status.crossfade is None:
        return status.genre
    return f"-> {status.genre} (crossfade {status.crossfade:.0%})"


def plain_line(status: Status) -> str:
    """One line for logs: time, genre, input band levels, EQ gains, top genres, load, xruns."""
    bands = " ".join(f"{level - status.input_overall_db:+.0f}" for level in status.input_db)
    gains = " ".join(f"{gain:+.1f}" for _, gain in status.eq_gains) or "none"
    line = (f"{status.time_s:7.1f}s  {_genre(status):<26} in {status.input_overall_db:6.1f} dB "
            f"[{bands}]  eq [{gains}]")
    if status.probabilities:
        top = sorted(status.probabilities.items(), key=lambda item: -item[1])[:3]
        line += "  p " + " ".join(f"{name} {p:.0%}" for name, p in top)
    if status.callback_p99_s is not None:
        line += f"  cb p99 {status.callback_p99_s * 1e6:.0f}us"
    if status.classifier_note:
        line += f"  [{status.classifier_note}]"
    return line + f"  {_sound(status)}  xruns {status.xruns}"


def _bar(fraction: float, width: int) -> str:
    """A left-aligned bar in eighths of a cell."""
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    return ("\u2588" * (eighths // 8) + PARTIAL_CELLS[eighths % 8]).ljust(width)[:width]


def _gain_bar(gain: float, half_width: int = 8) -> str:
    """Centred at 0 dB, in half cells: a cut grows left, a boost right."""
    halves = round(min(abs(gain), MAX_CUT_DB) / MAX_CUT_DB * half_width * 2)
    if gain < 0:
        return ("\u2590" * (halves % 2) + "\u2588" * (halves // 2)).rjust(half_width) + "|" + " " * half_width
    return " " * half_width + "|" + ("\u2588" * (halves // 2) + "\u258c" * (halves % 2)).ljust(half_width)


def _meter_row(text: Text, db: float) -> None:
    text.append(_bar((db - METER_FLOOR_DB) / -METER_FLOOR_DB, METER_WIDTH), "red" if db > -1.0 else "green")
    text.append(f" {_level(db)}   ")


def render(status: Status) -> Text:
    """The terminal panel: header, band meters (in and out), EQ gains, genre probabilities, load.

    Plain styled text in fixed columns: rich's tables drew the same in 5.7 ms of CPU per
    redraw, this in ~1 ms, and on a 2-core machine those milliseconds cost xruns."""
    text = Text()
    text.append("IntelEQ-RT ", "bold").append(f"{status.time_s:7.1f} s   ").append("genre ", "dim")
    text.append(_genre(status), "bold yellow")
    if status.mode == "automatic":
        text.append("   (automatic" + (f"; {status.classifier_note})\n" if status.classifier_note else ")\n"))
    else:
        chosen = {"keys": "chosen with the keys"}.get(status.mode, "set by --" + status.mode.split()[0])
        text.append(f"   ({chosen})\n")
    output = status.output_db is not None
    header = f"{'band Hz':>8}  {'input':<{METER_WIDTH}} {'dBFS':>6}   "
    text.append(header + (f"{'output':<{METER_WIDTH}} {'dBFS':>6}" if output else "") + "\n", "dim")
    rows = [(f"{_hz(low)}-{_hz(high)}", status.input_db[i], status.output_db[i] if output else None)
            for i, (low, high) in enumerate(status.bands)]
    rows.append(("all", status.input_overall_db, status.output_overall_db))
    for label, level_in, level_out in rows:
        text.append(f"{label:>8}  ", "bold" if label == "all" else "")
        _meter_row(text, level_in)
        if level_out is not None:
            _meter_row(text, level_out)
        text.append("\n")
    text.append(f"{'EQ':<18}{f'-{MAX_CUT_DB:g}':<8}0{f'+{MAX_CUT_DB:g} dB':>9}\n", "dim")
    for label, gain in status.eq_gains:
        text.append(f"{label:<18}").append(_gain_bar(gain), "cyan" if gain >= 0 else "magenta")
        text.append(f" {gain:+5.1f}\n")
    if status.probabilities:
        text.append(f"{'genre':<18}probability\n", "dim")
        for name, p in sorted(status.probabilities.items(), key=lambda item: -item[1]):
            text.append(f"{name:<18}").append(_bar(p, 20), "yellow").append(f" {p:4.0%}\n")
    text.append(_sound(status) + "\n", "bold magenta" if status.bypass else "")
    text.append(_load(status) + "   xruns ")
    text.append(str(status.xruns), "bold red" if status.xruns else "bold green")
    if status.controls:
        text.append("\n" + status.controls, "dim")
    return text


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
                self._painter = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
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


def paint(lines: TextIO, console: Console) -> None:
    """Draw each status line as it arrives, in place; the last one stays on screen."""
    with Live(console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False) as live:
        for line in lines:
            live.update(render(Status(**json.loads(line))), refresh=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the run; it closes our input
    os.nice(19)  # on a busy machine the audio threads come first; a late redraw harms nothing
    print("ready", flush=True)
    paint(sys.stdin, Console(stderr=True, force_terminal=True))
