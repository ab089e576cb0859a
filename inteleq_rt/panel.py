"""The live panel's drawing: a ``Status`` (plain data, one JSON line per update) as styled
text, or as one plain line for logs. ``python -m inteleq_rt.panel`` is the painter's process
(display.py starts it), which imports only this: rich, numpy, the engine's constants.

Plain styled text in fixed columns, not rich tables: those drew the same in 5.7 ms of CPU per
redraw, this in ~1 ms, and on a 2-core machine those milliseconds cost xruns.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .engine.config import LEVEL_FLOOR_DB
from .engine.presets import MAX_CUT_DB

METER_FLOOR_DB = -72.0  # band meters span this..0 dBFS
METER_WIDTH = 24
PARTIAL_CELLS = ("", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589")  # 1/8 .. 7/8
# Range mode's rows: one per octave (three 1/3-octave bands averaged, as broadly as the rule
# reads a range), on a scale of TONAL_DB_PER_CELL from TONAL_FLOOR_DB, relative to the median band.
TONAL_EVERY = 3
TONAL_FLOOR_DB, TONAL_DB_PER_CELL, TONAL_WIDTH = -40.0, 2.0, 30
OCTAVE_NAMES_HZ = (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)  # ISO 266's, for labels


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
    tonal: dict | None = None  # range mode: the balance against the genre's range (report.tonal_entry)

def hz(frequency: float) -> str:
    """A frequency as a short label: 63, 1k, 12.5k."""
    return f"{frequency / 1000:g}k" if frequency >= 1000 else f"{frequency:g}"


def _level(db: float) -> str:
    return "  -inf" if db <= LEVEL_FLOOR_DB else f"{db:6.1f}"


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


def octave_rows(tonal: dict) -> list[tuple[float, float | None, float | None, float | None, float | None, float]]:
    """(centre Hz, balance, range low, median, high, correction) per octave, each the mean of
    three 1/3-octave bands (None where none was measured)."""
    def mean(key: str, at: int) -> float | None:
        values = [v for v in (tonal.get(key) or [])[max(at - 1, 0) : at + 2] if v is not None]
        return sum(values) / len(values) if values else None

    centres = tonal["centres_hz"]
    return [(centres[at], mean("balance_db", at), mean("range_low_db", at), mean("range_median_db", at),
             mean("range_high_db", at), mean("correction_db", at) or 0.0)
            for at in range(0, len(centres), TONAL_EVERY)]


def _octave(centre: float) -> str:
    """The ISO name of an octave band's exact centre (62.5 Hz is "63")."""
    return hz(min(OCTAVE_NAMES_HZ, key=lambda name: abs(math.log(name / centre))))


def _outside(balance: float, low: float | None, high: float | None) -> float:
    """How far ``balance`` lies over (+) or under (-) the range; 0 inside or without one."""
    if low is None or high is None:
        return 0.0
    return balance - high if balance > high else balance - low if balance < low else 0.0


def _tonal_strip(text: Text, balance: float, low: float | None, median: float | None, high: float | None) -> None:
    """The range as a shaded span, its median as a bar, the balance as a dot."""
    def cell(db: float) -> int:
        return min(max(int((db - TONAL_FLOOR_DB) // TONAL_DB_PER_CELL), 0), TONAL_WIDTH - 1)

    dot, outside = cell(balance), _outside(balance, low, high)
    for index in range(TONAL_WIDTH):
        if index == dot:
            text.append("\u25cf", "bold red" if outside else "bold yellow")
        elif median is not None and index == cell(median):
            text.append("\u2502", "green")
        elif low is not None and high is not None and cell(low) <= index <= cell(high):
            text.append("\u2592", "green")
        else:
            text.append("\u00b7", "dim")


def _tonal_section(text: Text, tonal: dict) -> None:
    songs = f", {tonal['range_songs']} songs" if "range_songs" in tonal else ""
    scale = f"{TONAL_FLOOR_DB:g}..{TONAL_FLOOR_DB + TONAL_DB_PER_CELL * TONAL_WIDTH:+g} dB"
    text.append(f"{'balance Hz':>10}  {tonal['genre']}'s range (10th-90th percentile{songs}), {scale}\n", "dim")
    for centre, balance, low, median, high, correction in octave_rows(tonal):
        text.append(f"{_octave(centre):>10}  ")
        if balance is None:
            text.append(" " * TONAL_WIDTH + "      -\n", "dim")
            continue
        _tonal_strip(text, balance, low, median, high)
        outside = _outside(balance, low, high)
        where = ("no range" if low is None else "inside" if not outside
                 else f"{outside:+.1f} {'over' if outside > 0 else 'under'}")
        text.append(f" {balance:+6.1f}  {where:<11} eq {correction:+5.1f}\n")


def _tonal_words(tonal: dict) -> str:
    """Range mode in a few words, for the plain line: the octaves outside the range."""
    rows = [(centre, _outside(balance, low, high)) for centre, balance, low, _, high, _ in octave_rows(tonal)
            if balance is not None]
    outside = [f"{_octave(centre)}Hz {gap:+.1f}" for centre, gap in rows if gap]
    return f"  {tonal['genre']} range: " + (", ".join(outside) + " outside" if outside else "inside")


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
    if status.tonal:
        line += _tonal_words(status.tonal)
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
    """The terminal panel: header, band meters (in and out), EQ gains, genre probabilities, load."""
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
    rows = [(f"{hz(low)}-{hz(high)}", status.input_db[i], status.output_db[i] if output else None)
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
    if status.tonal:
        _tonal_section(text, status.tonal)
    text.append(_sound(status) + "\n", "bold magenta" if status.bypass else "")
    text.append(_load(status) + "   xruns ")
    text.append(str(status.xruns), "bold red" if status.xruns else "bold green")
    if status.controls:
        text.append("\n" + status.controls, "dim")
    return text



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

