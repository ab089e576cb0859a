"""What a user chooses about a run, in one object, validated once, here.

The CLI builds ``Options`` from its arguments; a library caller builds one directly. Ranges
come from ``engine.config.LIMITS``, the same table the engine's configuration checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .engine.config import CLASSIFIER_RING_S, MAX_BLOCK_SIZE, OUTPUT_METER_S, ConfigError, EngineConfig, check_range
from .engine.config import band_set

MODES = ("preset", "match", "range")
BAND_SETS = ("paper", "octave", "third-octave")
PLUGIN_POSITIONS = ("pre", "post")


def frequency_span(text: str) -> tuple[float, float]:
    """'LOW-HIGH' in Hz (a trailing k: kHz), as ``--protect`` takes it."""
    def hz(part: str) -> float:
        part = part.strip().lower().removesuffix("hz")
        return float(part[:-1]) * 1000 if part.endswith("k") else float(part)

    try:
        low, high = (hz(part) for part in text.split("-"))
    except ValueError:
        raise ConfigError(f"--protect {text!r}: give LOW-HIGH in Hz, e.g. 10000-20000 or 10k-20k") from None
    return low, high


@dataclass(frozen=True)
class Options:
    """How to equalize, and what to write beside the audio; every field has the default."""

    genre: str | None = None  # None: automatic, recognized by the genre model
    preset_file: Path | None = None  # a preset file of one's own, applied as written (genre: its name)
    weights: str | Path | None = None  # a model's name or folder (None: the default model)
    classify_every_s: float = 1.0
    blend: bool = False  # automatic match mode: steer toward the probability-weighted targets
    targets: Path | None = None  # match mode's target balances (None: the presets folder's)
    mode: str = "range"  # the default that measured best (README); "preset" where no ranges.toml
    amount_percent: float = 100.0
    crossfade_s: float = 2.0
    bands: str = "paper"
    presets: Path | None = None  # None: the folder in force (see resources.presets_dir)
    plugins: tuple[str, ...] = ()  # PATH[:name=value,...] each, in order
    plugin_position: str = "post"
    report: Path | None = None
    force: bool = False  # overwrite existing outputs
    level_match: bool = True  # the output as loud as the input (BS.1770)
    ceiling_db: float | None = -1.0  # the limiter's sample-peak ceiling
    dither: bool = True  # TPDF dither when an integer output has fewer bits than float32
    follow: bool = False  # offline: follow the stream as live does, instead of one EQ per track
    target_lufs: float | None = None  # offline whole-track: deliver at this loudness instead
    reference: Path | None = None  # range or match mode's target: this track's (folder's) balance
    max_gain_db: float = 6.0  # range and match mode: no filter (match: no band) beyond this
    protect_hz: tuple[tuple[float, float], ...] = ()  # range mode: spans (Hz) left at 0 dB
    save_preset: Path | None = None  # offline whole-track: the applied EQ, written as a preset file

    def __post_init__(self) -> None:
        if self.genre is not None and not self.genre.strip():
            raise ConfigError("--genre '': name a genre (see `inteleq-rt presets`), or leave it out for automatic")
        check_range("amount", self.amount_percent, "--amount", scale=100.0)
        check_range("crossfade", self.crossfade_s, "--crossfade")
        check_range("classify every", self.classify_every_s, "--classify-every")
        for name, value, allowed in (("--mode", self.mode, MODES), ("--bands", self.bands, BAND_SETS),
                                     ("--plugin-position", self.plugin_position, PLUGIN_POSITIONS)):
            if value not in allowed:
                raise ConfigError(f"{name} {value!r}: choose one of {', '.join(allowed)}")
        if self.blend and (self.mode != "match" or self.genre is not None):
            raise ConfigError("--blend needs --mode match and automatic genre (no --genre)")
        if self.ceiling_db is not None:  # None: no limiter (a whole-track render's measuring pass)
            check_range("ceiling", self.ceiling_db, "--ceiling")
        if self.target_lufs is not None:
            check_range("target loudness", self.target_lufs, "--target-lufs")
            if self.follow:
                raise ConfigError("--target-lufs needs a whole-track render: drop --follow")
        check_range("max gain", self.max_gain_db, "--max-gain")
        for low, high in self.protect_hz:
            if not 0 <= low < high:
                raise ConfigError(f"--protect {low:g}-{high:g}: give LOW-HIGH in Hz, LOW below HIGH")
        if self.protect_hz and self.mode != "range":
            raise ConfigError("--protect keeps bands out of range mode's correction: use it with --mode range")
        if self.preset_file is not None and (self.genre != self.preset_file.stem or self.mode != "preset"
                                             or self.reference is not None):
            raise ConfigError("--preset applies one preset file as written: use it without --genre, --reference "
                              "or a --mode other than preset")
        if self.save_preset is not None:
            self._check_savable()
        if self.reference is not None and (self.mode not in ("match", "range") or self.genre is not None
                                           or self.blend):
            raise ConfigError("--reference steers range or match mode toward tracks: use it without --genre, "
                              "--blend or --mode preset")

    def _check_savable(self) -> None:
        """--save-preset: the render's EQ must be one curve a preset file can hold."""
        from .engine.presets import MAX_BOOST_DB, MAX_FILTERS

        if self.follow:
            raise ConfigError("--save-preset saves a whole-track render's one EQ: drop --follow")
        if self.max_gain_db > MAX_BOOST_DB:
            raise ConfigError(f"--save-preset: a preset boosts at most +{MAX_BOOST_DB:g} dB; "
                              f"use --max-gain {MAX_BOOST_DB:g} or less")
        bands = len(band_set(self.bands))
        if self.mode == "match" and bands > MAX_FILTERS:
            raise ConfigError(f"--save-preset: match mode with --bands {self.bands} runs {bands} filters, a preset "
                              f"holds at most {MAX_FILTERS}: use --bands octave or paper")

    @property
    def limits(self):
        """Range mode's limits on its correction (tonal.rule.Limits)."""
        from .tonal.rule import Limits

        return Limits(self.max_gain_db, self.protect_hz)

    @property
    def automatic(self) -> bool:
        return self.genre is None and self.reference is None

    def engine_config(self, sample_rate: int, channels: int, analyze: bool = True,
                      block_size: int = 0, live: bool = False) -> EngineConfig:
        """The engine's configuration for a stream of this rate and channel count (``analyze``:
        band levels of its input and output, for meters, a report or match mode; ``live``: the
        output's measured beside the audio path, for the eyes only)."""
        return EngineConfig(sample_rate=sample_rate, channels=channels, bands=band_set(self.bands),
                            crossfade_s=self.crossfade_s, mode=self.mode, amount=self.amount_percent / 100.0,
                            presets_dir=self.presets, analyze_input=analyze, analyze_output=analyze,
                            input_ring_s=CLASSIFIER_RING_S if self.automatic or self.mode == "range" else 0.0,
                            level_match=self.level_match, ceiling_db=self.ceiling_db,
                            match_max_gain_db=self.max_gain_db,
                            max_block_size=max(MAX_BLOCK_SIZE, block_size),
                            output_meter_s=OUTPUT_METER_S if live else 0.0)
