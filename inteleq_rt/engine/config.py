"""The engine's shared defaults and limits: audio format, analysis bands, EQ behaviour.

``check_range`` is the one validation of a setting's range: the engine's configuration and
the user's options (``inteleq_rt.options``) both call it, so they cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InteleqError

SAMPLE_RATE = 48_000
BLOCK_SIZE = 256
CHANNELS = 2
# pedalboard infers channel layout from the smaller array dimension, so a block must be
# longer than it is wide; real devices never run this small anyway.
MIN_BLOCK_SIZE = 16
MAX_BLOCK_SIZE = 8192
# Seconds of input kept for the classifier beside the audio path (two 3 s windows and slack).
CLASSIFIER_RING_S = 8.0
# Seconds of output kept for the live meters read beside the audio path (read twice a second).
OUTPUT_METER_S = 2.0

# The IntelEQ paper's five bands (Hz); the top edge is clipped below Nyquist at design time.
PAPER_BANDS: tuple[tuple[float, float], ...] = (
    (20.0, 250.0),
    (250.0, 500.0),
    (500.0, 2000.0),
    (2000.0, 6000.0),
    (6000.0, 20000.0),
)


def band_set(name: str) -> tuple[tuple[float, float], ...]:
    """A named band set: "paper" (IntelEQ's five bands), "octave" (10) or "third-octave" (31)."""
    if name == "paper":
        return PAPER_BANDS
    per_octave = {"octave": 1, "third-octave": 3}.get(name)
    if per_octave is None:
        raise ValueError(f"unknown band set {name!r}; choose paper, octave or third-octave")
    # IEC 61260 base-two centres 1 kHz * 2^(k/n), covering 20 Hz .. 20 kHz.
    half = 2.0 ** (0.5 / per_octave)
    k_low = round(per_octave * math.log2(20.0 / 1000.0))
    k_high = round(per_octave * math.log2(20000.0 / 1000.0))
    centres = [1000.0 * 2.0 ** (k / per_octave) for k in range(k_low, k_high + 1)]
    return tuple((c / half, c * half) for c in centres)


# Levels below this are treated as silence: log of zero never reaches the features.
LEVEL_FLOOR_DB = -120.0
# Below this overall level analysis hears silence: match mode holds its gains instead of
# chasing noise, the classifier (when the whole window it hears is below it) holds its
# genre, and a track's balance and a reference skip it. The silence between songs has none.
# (Level matching's own gate is loudness.MATCH_GATE_LUFS, K-weighted.)
SILENCE_GATE_DBFS = -60.0
# Limiter gain reduction beyond this is heard as pumping and dulled transients: a render
# warns, and a library run's summary lists the file.
AUDIBLE_LIMITING_DB = 6.0

# (low, high, unit) of every setting a user or a caller can choose.
LIMITS: dict[str, tuple[float, float, str]] = {
    "sample rate": (8000, 384_000, "Hz"),
    "channels": (1, 64, ""),
    "block size": (MIN_BLOCK_SIZE, MAX_BLOCK_SIZE, "frames"),
    "max block size": (MIN_BLOCK_SIZE, 1 << 20, "frames"),
    "amount": (0.0, 1.0, ""),
    "crossfade": (0.01, 60.0, "seconds"),
    "classify every": (0.1, 60.0, "seconds"),
    "RMS window": (0.001, 60.0, "seconds"),
    "match smoothing": (0.001, 600.0, "seconds"),
    "ceiling": (-20.0, 0.0, "dBFS"),
    "target loudness": (-40.0, -5.0, "LUFS"),
    "max gain": (0.0, 12.0, "dB"),
}


class ConfigError(InteleqError, ValueError):
    """A setting out of its range (a ValueError too, for library callers)."""


def check_range(name: str, value: float, label: str | None = None, scale: float = 1.0) -> None:
    """Raise ConfigError unless ``value`` lies in LIMITS[name] (shown ``scale`` times larger,
    under ``label``: e.g. "--amount" in percent)."""
    low, high, unit = LIMITS[name]
    if not low <= value / scale <= high:
        shown = f"{label or name} {value:g}"
        raise ConfigError(f"{shown}: must be between {low * scale:g} and {high * scale:g}{' ' + unit if unit else ''}")


@dataclass(frozen=True)
class EngineConfig:
    """How the engine analyses and equalizes; every field has the product default."""

    sample_rate: int = SAMPLE_RATE
    channels: int = CHANNELS
    max_block_size: int = MAX_BLOCK_SIZE
    bands: tuple[tuple[float, float], ...] = PAPER_BANDS
    # Time constant of the running band RMS (a one-pole mean-square integrator, as in meters).
    rms_window_s: float = 0.4
    crossfade_s: float = 2.0
    # "preset": the genre's EQ as written; "match": steer toward its target; "range": follow
    # the correction posted beside the audio path (curve_eq.py)
    mode: str = "preset"
    amount: float = 1.0  # 0..1 scale on every EQ gain
    # Match mode: how slowly gains follow the measured difference, and how far they may go.
    match_smoothing_s: float = 3.0
    match_max_gain_db: float = 6.0
    # Every gain change the engine makes is slew-limited to this rate, so none can click.
    gain_slew_db_per_s: float = 12.0
    # The band analysis of the input (meters, match mode) and of the output (meters): a
    # whole-track render without a report needs neither.
    analyze_input: bool = True
    analyze_output: bool = True
    # Keep the output as loud as the input (BS.1770), so the EQ is heard as balance, not level.
    level_match: bool = True
    # The limiter's sample-peak ceiling after everything else (None: no limiter).
    ceiling_db: float | None = -1.0
    # Seconds of input kept for a reader beside the audio path (classifier, range follower; 0: none).
    input_ring_s: float = 0.0
    # Live: the output's analysis runs beside the audio path, from a ring this long (meter.py;
    # 0: in the block, as an offline render's report wants it, deterministic).
    output_meter_s: float = 0.0
    # The preset folder (None: the one in force, see ``inteleq_rt.resources.presets_dir``).
    presets_dir: Path | None = None

    def __post_init__(self) -> None:
        check_range("sample rate", self.sample_rate)
        check_range("channels", self.channels)
        check_range("max block size", self.max_block_size)
        check_range("amount", self.amount)
        check_range("crossfade", self.crossfade_s)
        check_range("RMS window", self.rms_window_s)
        check_range("match smoothing", self.match_smoothing_s)
        if self.ceiling_db is not None:
            check_range("ceiling", self.ceiling_db)
        if self.mode not in ("preset", "match", "range"):
            raise ConfigError(f"mode must be 'preset', 'match' or 'range', not {self.mode!r}")
        if not self.bands:
            raise ConfigError("at least one analysis band is needed")

    @property
    def meters_beside(self) -> bool:
        """Live: the meters are read beside the audio path (meter.py), not analysed in the block."""
        return self.output_meter_s > 0
