"""Every default in one place: audio format, analysis bands, EQ behaviour, file locations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRESETS_DIR = PROJECT_ROOT / "presets"
WEIGHTS_DIR = PROJECT_ROOT / "weights"
DEFAULT_MODEL = "gtzan"

SAMPLE_RATE = 48_000
BLOCK_SIZE = 256
BENCH_BLOCK_SIZES = (32, 64, 128, 256, 512, 1024)
CHANNELS = 2
# pedalboard infers channel layout from the smaller array dimension, so a block must be
# longer than it is wide; real devices never run this small anyway.
MIN_BLOCK_SIZE = 16
MAX_BLOCK_SIZE = 8192

# The IntelEQ paper's five bands (Hz); the top edge is clipped below Nyquist at design time.
PAPER_BANDS: tuple[tuple[float, float], ...] = (
    (20.0, 250.0),
    (250.0, 500.0),
    (500.0, 2000.0),
    (2000.0, 6000.0),
    (6000.0, 20000.0),
)

# Levels below this are treated as silence: log of zero never reaches the features.
LEVEL_FLOOR_DB = -120.0
# Below this overall input level, match mode holds its gains instead of chasing noise,
# and the classifier (when the whole window it hears is below it) holds its genre: the
# silence between songs has none.
MATCH_GATE_DB = -60.0


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
    mode: str = "preset"  # "preset": the genre's EQ as written; "match": steer toward its target
    amount: float = 1.0  # 0..1 scale on every EQ gain
    # Match mode: how slowly gains follow the measured difference, and how far they may go.
    match_smoothing_s: float = 3.0
    match_max_gain_db: float = 6.0
    # Every gain change the engine makes is slew-limited to this rate, so none can click.
    gain_slew_db_per_s: float = 12.0
    analyze_output: bool = True
    # Seconds of input kept for a classifier beside the audio path (0: no classifier).
    input_ring_s: float = 0.0
    presets_dir: Path = field(default=PRESETS_DIR)

    def __post_init__(self) -> None:
        if self.sample_rate < 8000 or self.sample_rate > 384_000:
            raise ValueError(f"sample rate {self.sample_rate} Hz is outside 8000..384000")
        if not 1 <= self.channels <= 64:
            raise ValueError(f"channel count {self.channels} is outside 1..64")
        if not MIN_BLOCK_SIZE <= self.max_block_size <= 1 << 20:
            raise ValueError(f"max block size {self.max_block_size} is out of range")
        if self.mode not in ("preset", "match"):
            raise ValueError(f"mode must be 'preset' or 'match', not {self.mode!r}")
        if not 0.0 <= self.amount <= 1.0:
            raise ValueError(f"amount {self.amount:g} is outside 0..1")
        if self.crossfade_s < 0 or self.rms_window_s <= 0 or self.match_smoothing_s <= 0:
            raise ValueError("crossfade, RMS window and match smoothing times must be positive")
        if not self.bands:
            raise ValueError("at least one analysis band is needed")
