"""The classifier's input, computed one way for live streams and for whole files alike.

Two layers:

* ``feature_vector`` (engine/levels.py): the paper's features from filterbank state, band
  levels in dB relative to the overall level, then the overall level in dBFS.
* ``FeatureTracker``: the model's features. A filterbank fed in exact hop-sized steps; at each
  hop ("tick") it keeps the level vector, and the features are statistics over the last few
  seconds of ticks (mean, spread, flux = mean absolute change per hop). The window is a plain
  boxcar, not an exponential average: a song that ended is entirely out of the features one
  window later, so a change of music never leaves an outlying spread behind. Whatever the
  blocks it is given, the ticks fall on the same samples, so a live stream and a whole file
  give the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...engine.levels import feature_vector

STATISTICS = ("level", "mean", "std", "flux")


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that defines the model's input; stored with the weights and checked on load."""

    bands: tuple[tuple[float, float], ...]
    statistics: tuple[str, ...] = STATISTICS
    rms_window_s: float = 0.4
    hop_s: float = 0.05
    stats_window_s: float = 3.0

    def __post_init__(self) -> None:
        unknown = set(self.statistics) - set(STATISTICS)
        if unknown or not self.statistics:
            raise ValueError(f"statistics must be some of {', '.join(STATISTICS)}, not {sorted(unknown)}")

    @property
    def size(self) -> int:
        return (len(self.bands) + 1) * len(self.statistics)

    def names(self) -> list[str]:
        levels = [f"{lo:g}-{hi:g}Hz" for lo, hi in self.bands] + ["overall"]
        return [f"{stat}:{level}" for stat in self.statistics for level in levels]

    def to_dict(self) -> dict:
        return {**asdict(self), "bands": [list(b) for b in self.bands], "statistics": list(self.statistics)}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(bands=tuple(tuple(float(e) for e in b) for b in data["bands"]),
                   statistics=tuple(data["statistics"]), rms_window_s=float(data["rms_window_s"]),
                   hop_s=float(data["hop_s"]), stats_window_s=float(data["stats_window_s"]))


def clip_bands(bands: tuple[tuple[float, float], ...], max_hz: float) -> tuple[tuple[float, float], ...]:
    """Bands limited to what a corpus holds: bands above ``max_hz`` dropped, the last one cut."""
    kept = tuple((lo, min(hi, max_hz)) for lo, hi in bands if lo < 0.9 * max_hz)
    return kept


class FeatureTracker:
    """Streaming model features for one stream: push audio of any length, read ``features``.

    The model hears the channels' mono downmix: that is what genre corpora hold (GTZAN is
    mono), and it costs half of a stereo analysis, the largest share of an offline render.
    """

    def __init__(self, spec: FeatureSpec, sample_rate: float, channels: int) -> None:
        # numba loads where a filterbank runs: not in the tagger's classifier process, which
        # would spend 150 MB and 0.5 s on it
        from ...engine.filterbank import FilterBank

        self.spec = spec
        self.channels = channels
        self.bank = FilterBank(spec.bands, sample_rate, 1, spec.rms_window_s)
        self.hop = max(1, int(round(spec.hop_s * sample_rate)))
        self.window = max(1, round(spec.stats_window_s / spec.hop_s))
        size = len(spec.bands) + 1
        self.level = np.zeros(size)
        self._levels = np.zeros((self.window, size))  # ring of the last `window` level vectors
        self._changes = np.zeros((self.window, size))  # and of each tick's absolute change
        self.ticks = 0
        self._since_hop = 0

    @property
    def seconds(self) -> float:
        """Stream time analysed so far at the last tick."""
        return self.ticks * self.hop / self.bank.sample_rate

    def push(self, audio: np.ndarray, on_tick=None) -> None:
        """Analyse float32 audio (frames, channels); ``on_tick(tracker)`` runs after every hop."""
        if audio.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {audio.shape[1]}")
        if self.channels > 1:
            audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
        start = 0
        while start < audio.shape[0]:
            take = min(audio.shape[0] - start, self.hop - self._since_hop)
            self.bank.process(audio[start : start + take])
            start += take
            self._since_hop += take
            if self._since_hop == self.hop:
                self._since_hop = 0
                self._tick()
                if on_tick is not None:
                    on_tick(self)

    def _tick(self) -> None:
        row = self.ticks % self.window
        previous = self.level.copy()
        self.level[:] = feature_vector(self.bank.band_ms, self.bank.overall_ms)
        self._levels[row] = self.level
        self._changes[row] = np.abs(self.level - previous) if self.ticks else 0.0
        self.ticks += 1

    def quietest_db(self) -> float:
        """The lowest overall level (dBFS) over the statistics window."""
        return float(self._levels[: min(self.ticks, self.window), -1].min(initial=0.0))

    def loudest_db(self) -> float:
        """The highest overall level (dBFS) over the statistics window."""
        return float(self._levels[: min(self.ticks, self.window), -1].max(initial=-120.0))

    def features(self) -> np.ndarray:
        """The statistics named by the spec over the last window (fewer ticks at the start)."""
        filled = min(self.ticks, self.window)
        levels = self._levels[:filled]
        parts = {"level": self.level, "mean": levels.mean(axis=0), "std": levels.std(axis=0),
                 "flux": self._changes[:filled].mean(axis=0)}
        return np.concatenate([parts[name] for name in self.spec.statistics])


def extract_features(
    audio: np.ndarray, sample_rate: float, spec: FeatureSpec, every_s: float, skip_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Model features of a whole signal every ``every_s`` seconds, after ``skip_s`` (default:
    one statistics window) of warm-up: exactly what a live tracker shows at those instants."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    tracker = FeatureTracker(spec, sample_rate, audio.shape[1])
    skip_ticks = round((spec.stats_window_s if skip_s is None else skip_s) / spec.hop_s)
    every_ticks = max(1, round(every_s / spec.hop_s))
    times, rows = [], []

    def record(t: FeatureTracker) -> None:
        if t.ticks >= skip_ticks and (t.ticks - skip_ticks) % every_ticks == 0:
            times.append(t.seconds)
            rows.append(t.features())

    tracker.push(audio, record)
    return np.array(times), np.array(rows).reshape(len(rows), spec.size)
