"""The `--report` timeline: what the engine decided and did over time, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine.engine import Engine
from .engine.snapshot import Snapshot
from .engine.levels import band_levels_db
from .io.atomic import write_atomically

if TYPE_CHECKING:
    from .tonal.targets import RangeVerdict


def _rounded(values) -> list[float]:
    return [round(float(v), 2) for v in values]


def _measured(values) -> list[float | None]:
    """Rounded, with null where a band was not measured (JSON has no NaN)."""
    return [round(float(v), 2) if np.isfinite(v) else None for v in values]


def tonal_entry(verdict: RangeVerdict) -> dict:
    """Range mode's judgment of a whole track (``tonal.targets.RangeVerdict``), as JSON."""
    from .tonal.spectrum import CENTRES_HZ

    genre_range = verdict.genre_range
    entry = {"genre": verdict.genre, "centres_hz": _rounded(CENTRES_HZ), "balance_db": _measured(verdict.balance_db),
             "correction_db": _measured(verdict.correction_db),
             "levels": "dB relative to the median band below 10 kHz; null: not measured"}
    if genre_range is not None:
        entry.update(range_low_db=_measured(genre_range.low_db), range_median_db=_measured(genre_range.median_db),
                     range_high_db=_measured(genre_range.high_db), range_songs=genre_range.songs)
    return entry


def snapshot_entry(snapshot: Snapshot) -> dict:
    """One timeline row: time, genre decision, EQ gains, level matching's gain, bypass, the
    limiter's count of limited blocks so far, input and output band levels (dB)."""
    input_relative, input_overall = band_levels_db(snapshot.input_band_ms, snapshot.input_overall_ms)
    entry = {
        "time_s": round(snapshot.time_s, 3),
        "genre": snapshot.genre,
        "crossfade": None if snapshot.crossfade is None else round(snapshot.crossfade, 3),
        "eq": [
            {"type": f.kind, "frequency_hz": round(f.frequency_hz, 1), "q": round(f.q, 3), "gain_db": round(g, 2)}
            for f, g in snapshot.eq_gains
        ],
        "level_gain_db": round(snapshot.level_gain_db, 2),
        "bypass": round(snapshot.bypass, 3),
        "limited_blocks": snapshot.limited_blocks,
        "input_overall_db": round(float(input_overall), 2),
        "input_band_levels_db": _rounded(input_relative),
    }
    if snapshot.output_band_ms is not None:
        output_relative, output_overall = band_levels_db(snapshot.output_band_ms, snapshot.output_overall_ms)
        entry["output_overall_db"] = round(float(output_overall), 2)
        entry["output_band_levels_db"] = _rounded(output_relative)
    return entry


class Timeline:
    """Samples the engine every ``interval_s`` of stream time (from any thread). ``keep``:
    every sample, for a report or a picture; without, only the genre changes (a live run
    without a report goes on for hours in bounded memory)."""

    def __init__(self, engine: Engine, classifier=None, interval_s: float = 0.5, keep: bool = True) -> None:
        self.engine = engine
        self.classifier = classifier
        self.interval_s = interval_s
        self.keep = keep
        self.entries: list[dict] = []
        self.changes: list[tuple[float, str]] = []  # (time, genre) at the start and every change
        self._next_s = 0.0

    def sample(self, snapshot: Snapshot | None = None) -> None:
        """Record ``snapshot`` (by default one taken now) if its time has come."""
        if snapshot is None:
            if self.engine.frames < self._next_s * self.engine.config.sample_rate:
                return  # not due, even by the audio thread's newest count: no snapshot taken
            snapshot = self.engine.snapshot()
        if snapshot.blocks and snapshot.time_s >= self._next_s:
            self._next_s = snapshot.time_s + self.interval_s
            if not self.changes or self.changes[-1][1] != snapshot.genre:
                self.changes.append((round(snapshot.time_s, 3), snapshot.genre))
            if not self.keep:
                return
            entry = snapshot_entry(snapshot)
            latest = self.classifier.latest if self.classifier is not None else None
            if latest is not None:
                entry["probabilities"] = {name: round(p, 4) for name, p in latest.probabilities.items()}
                entry["classifier"] = {"decision": latest.genre, "music": round(latest.music, 3)}
            self.entries.append(entry)

    def genre_changes(self) -> list[tuple[float, str]]:
        """(time, genre) at the start and at every change of decision."""
        return self.changes

    def write(self, path: Path, summary: dict, tonal: RangeVerdict | None = None) -> None:
        """Write the report atomically (temporary name, then rename); ``tonal``: a
        whole-track range-mode render's judgment."""
        config = self.engine.config
        document = {
            "version": 1,
            "sample_rate": config.sample_rate,
            "channels": config.channels,
            "mode": config.mode,
            "amount": config.amount,
            "bands_hz": [list(b) for b in config.bands],
            "band_levels": "dB relative to the overall level; overall levels in dBFS",
            "summary": summary,
            "timeline": self.entries,
        }
        if tonal is not None:
            document["tonal_balance"] = tonal_entry(tonal)
        write_atomically(Path(path), json.dumps(document, indent=1))
