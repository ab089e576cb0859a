"""The streaming engine: one object that turns an input block into an output block.

Per block: condition the input, keep a copy for the classifier and analyse it (front.py),
read the command records, equalize (crossfading or steering), match the EQ's loudness to the
input's, crossfade to the dry input while bypassed, run the post plugins, hold the ceiling
(limiter), analyse the output, publish a snapshot. Everything the block touches is allocated
here, up front.

Other threads (or processes) talk to the engine through doors that never make the audio
thread wait: two command records (the user's and the classifier's; a user's choice outranks
the classifier's), read once per block, and ``snapshot``, a sequence-checked copy of the
published state that the reader retries, so a torn read is never returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .commands import CommandRecord
from .config import MIN_BLOCK_SIZE, EngineConfig
from .curve_eq import CurveEQ
from .eq import Equalizer, PresetEQ, crossfade
from .filterbank import FilterBank
from .front import INPUT_LIMIT, condition, front_end
from .limiter import Limiter
from .loudness import IntegratedLoudness, LevelMatch
from .match import MatchEQ
from .plugins import PluginInsert
from .presets import Preset, load_presets
from .ring import InputRing
from .snapshot import Published, Snapshot, Stage, StageProfile

# Bypass crossfades between the EQ and the dry input this fast: quick enough to A/B, long
# enough not to click.
BYPASS_FADE_S = 0.2


class Engine:
    """Analysis and EQ of one stream; ``process`` is safe to call from an audio callback."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        presets: dict[str, Preset] | None = None,
        genre: str = "flat",
        pre_plugins: Sequence[PluginInsert] = (),
        post_plugins: Sequence[PluginInsert] = (),
    ) -> None:
        """``pre_plugins`` run before the analysis and EQ (the classifier hears them),
        ``post_plugins`` after the EQ (the output analysis hears them)."""
        self.config = config = config or EngineConfig()
        self.presets = presets if presets is not None else load_presets(config.presets_dir)
        self.genres = tuple(self.presets)
        self._genre_index = {name: index for index, name in enumerate(self.genres)}
        self._check_genre(genre)
        rate, channels = config.sample_rate, config.channels
        self.input_analysis = FilterBank(config.bands, rate, channels, config.rms_window_s)
        self.output_analysis = (
            FilterBank(config.bands, rate, channels, config.rms_window_s) if config.analyze_output else None
        )
        self.eq = self._equalizer(genre)
        self.curve_filters = self.eq.curve_filters if isinstance(self.eq, CurveEQ) else 0  # posted per genre
        self.user_commands = CommandRecord(len(self.genres))
        self.classifier_commands = CommandRecord(len(self.genres), curve_filters=self.curve_filters)
        self._user_genre: int | None = None
        self._classifier_genre: int | None = None
        self._classifier_blend: np.ndarray | None = None
        self.pre_plugins, self.post_plugins = tuple(pre_plugins), tuple(post_plugins)
        ring_frames = int(config.input_ring_s * rate)
        self.input_ring = (InputRing(ring_frames, channels, config.max_block_size)
                           if ring_frames > 2 * config.max_block_size else None)
        self._clean = np.zeros((config.max_block_size, channels), dtype=np.float32)
        self._no_ring = np.zeros((0, channels), dtype=np.float32)
        self._analysis_arrays = self.input_analysis.kernel_arrays  # updated in place, looked up once
        self.level = LevelMatch(rate, channels, config.gain_slew_db_per_s) if config.level_match else None
        self.limiter = Limiter(config.ceiling_db, rate, channels) if config.ceiling_db is not None else None
        # A whole-track render's look at what the EQ hears and what it makes (before level matching).
        self.eq_meters: tuple[IntegratedLoudness, IntegratedLoudness] | None = None
        self.profile: StageProfile | None = None
        self._bypassed = False
        self._bypass_position = 0.0  # 0: EQ .. 1: dry
        self.repaired_samples = 0  # NaN, Inf or beyond INPUT_LIMIT, since the start
        self.blocks = 0
        self.frames = 0
        most_filters = max(len(self.eq.filters(name)) for name in self.genres)
        self._published = Published(channels, len(config.bands), most_filters)
        self._warm_up()
        self._publish()
        self._stages = self._build_stages()

    def _equalizer(self, genre: str) -> Equalizer:
        config = self.config
        if config.mode == "match":
            return MatchEQ(self.presets, config, genre, self.input_analysis)
        if config.mode == "range":
            from ..tonal.curve import layout_filters

            return CurveEQ(self.genres, layout_filters(), config, genre)
        return PresetEQ(self.presets, config, genre)

    def _build_stages(self) -> tuple[Stage, ...]:
        """The block's path as a list of stages, built once: a stage that is off (no plugins,
        no ring, no limiter, ...) is left out, so it costs nothing per block; with a profile,
        each stage is timed."""
        # Each stage looks its part up when it runs: a part may be replaced mid-stream (the
        # classifier's process moves the ring into shared memory).
        stages: list[tuple[str, Stage | None]] = [
            *self._front_stages(),
            ("commands", lambda _raw, _clean, _out: self._apply_commands()),
            ("eq", lambda _raw, clean, out: self.eq.process(clean, out)),
            ("eq meters", self._measure_eq if self.eq_meters is not None else None),
            ("level match", (lambda _raw, clean, out: self.level.process(clean, out)) if self.level is not None
             else None),
            ("bypass", self._mix_bypass),
            ("post plugins", self._run_post_plugins if self.post_plugins else None),
            ("limiter", (lambda _raw, _clean, out: self.limiter.process(out)) if self.limiter is not None else None),
            ("output analysis", (lambda _raw, _clean, out: self.output_analysis.process(out))
             if self.output_analysis is not None else None),
            ("publish", self._publish_block),
        ]
        active = [(name, stage) for name, stage in stages if stage is not None]
        if self.profile is not None:
            self.profile.names = [name for name, _ in active]
            return tuple(self.profile.timed(index, stage) for index, (_, stage) in enumerate(active))
        return tuple(stage for _, stage in active)

    def _front_stages(self) -> list[tuple[str, Stage | None]]:
        """Without pre plugins, nothing sits between conditioning and the input analysis: one
        compiled call does both and the ring copy between them."""
        if not self.pre_plugins and self.config.analyze_input:
            return [("front end", self._front_end)]
        return [
            ("conditioning", self._condition),
            ("pre plugins", self._run_pre_plugins if self.pre_plugins else None),
            ("ring", (lambda _raw, clean, _out: self.input_ring.write(clean)) if self.input_ring is not None else None),
            ("input analysis", (lambda _raw, clean, _out: self.input_analysis.process(clean))
             if self.config.analyze_input else None),
        ]

    def measure_eq(self, meters: tuple[IntegratedLoudness, IntegratedLoudness]) -> None:
        """Feed what the EQ hears and what it makes to these meters (a whole-track render)."""
        self.eq_meters = meters
        self._stages = self._build_stages()

    def start_profile(self, blocks: int) -> StageProfile:
        """Time each stage of the next ``blocks`` blocks (``bench --profile``)."""
        self.profile = StageProfile(blocks)
        self._stages = self._build_stages()
        return self.profile

    def _check_genre(self, genre: str) -> None:
        if genre not in self.presets:
            raise ValueError(f"unknown genre {genre!r}; available: {', '.join(sorted(self.presets))}")

    def _warm_up(self) -> None:
        """Let every chain meet a full-size block before the audio thread does (JUCE prepares
        its buffers on first use); numba kernels are compiled eagerly at import."""
        self.eq.warm_up(np.zeros((self.config.max_block_size, self.config.channels), dtype=np.float32))

    # -- doors for other threads ------------------------------------------------------------
    def request_genre(self, genre: str | None) -> None:
        """The user's genre (None: back to the classifier's); the switch starts at the next block."""
        if genre is not None:
            self._check_genre(genre)
        self.user_commands.post(genre=-1 if genre is None else self._genre_index[genre])

    def set_amount(self, amount: float) -> None:
        """Scale every EQ gain (0..1); the change is ramped, never stepped."""
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"amount {amount:g} is outside 0..1")
        self.user_commands.post(amount=amount)

    def set_bypass(self, bypassed: bool) -> None:
        """Hear the dry input (True) or the EQ (False); the change is a short crossfade, and
        level matching keeps both equally loud."""
        self.user_commands.post(bypass=bypassed)

    def post_decision(self, genre: str, blend: dict[str, float] | None = None) -> None:
        """The classifier's genre, and (match and range mode) the genres' weights to blend."""
        self._check_genre(genre)
        self.classifier_commands.post_decision(self.genres, genre, blend)

    def post_curves(self, curves: np.ndarray) -> None:
        """Range mode: each genre's correction (genres x ``curve_filters`` gains, dB)."""
        self.classifier_commands.post(curves=curves)

    @property
    def latency_frames(self) -> int:
        """Frames the stream is delayed by: the plugins' reported latency (once primed) and
        the limiter's look-ahead."""
        limiter = self.limiter.latency if self.limiter is not None else 0
        return limiter + sum(plugin.latency for plugin in (*self.pre_plugins, *self.post_plugins))

    @property
    def genre(self) -> str:
        """The genre whose EQ is (or is becoming) audible."""
        return self.eq.target

    def snapshot(self) -> Snapshot:
        """A consistent copy of the latest published state (retries while a block publishes)."""
        return self._published.snapshot(self.genres, self.eq.filters, self.config.sample_rate,
                                        self.output_analysis is not None)

    # -- the audio path ---------------------------------------------------------------------
    def check_block(self, frames: int) -> None:
        if not max(MIN_BLOCK_SIZE, self.config.channels + 1) <= frames <= self.config.max_block_size:
            raise ValueError(
                f"block of {frames} frames: the engine takes {max(MIN_BLOCK_SIZE, self.config.channels + 1)}"
                f"..{self.config.max_block_size} frames per block"
            )

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        """Equalize one float32 block (frames, channels) into ``out`` of the same shape."""
        self.check_block(block.shape[0])
        if block.shape[1] != self.config.channels:
            raise ValueError(f"block of {block.shape[1]} channels: the engine takes {self.config.channels}")
        clean = self._clean[: block.shape[0]]
        for stage in self._stages:
            stage(block, clean, out)

    def _front_end(self, raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        ring = self.input_ring
        if ring is None:
            self.repaired_samples += front_end(raw, clean, INPUT_LIMIT, self._no_ring, 0, *self._analysis_arrays)
            return
        self.repaired_samples += front_end(raw, clean, INPUT_LIMIT, ring.buffer, ring.written % ring.buffer.shape[0],
                                            *self._analysis_arrays)
        ring.advance(clean.shape[0])  # after the audio it counts, as InputRing.write does

    def _condition(self, raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        self.repaired_samples += condition(raw, clean, INPUT_LIMIT)

    def _run_pre_plugins(self, _raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        for plugin in self.pre_plugins:
            plugin.process(clean, clean)

    def _measure_eq(self, _raw: np.ndarray, clean: np.ndarray, out: np.ndarray) -> None:
        self.eq_meters[0].add(clean)
        self.eq_meters[1].add(out)

    def _run_post_plugins(self, _raw: np.ndarray, _clean: np.ndarray, out: np.ndarray) -> None:
        for plugin in self.post_plugins:
            plugin.process(out, out)

    def _publish_block(self, _raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        self.blocks += 1
        self.frames += clean.shape[0]
        self._publish()

    def _mix_bypass(self, _raw: np.ndarray, dry: np.ndarray, out: np.ndarray) -> None:
        """While bypassed, ``out`` becomes the dry input, by a raised-cosine crossfade."""
        position = self._bypass_position
        if position == (1.0 if self._bypassed else 0.0):
            if self._bypassed:
                out[:] = dry
            return
        step = 1.0 / (BYPASS_FADE_S * self.config.sample_rate)
        if self._bypassed:
            crossfade(out, dry, out, position, step)
            self._bypass_position = min(1.0, position + dry.shape[0] * step)
        else:
            crossfade(dry, out, out, 1.0 - position, step)
            self._bypass_position = max(0.0, position - dry.shape[0] * step)

    def _apply_commands(self) -> None:
        """What the records say, once per block; a genre switch refused mid-fade is tried again."""
        user = self.user_commands.read()
        decided = self.classifier_commands.read()
        if user is not None:
            self._user_genre = CommandRecord.genre(user)
            amount = CommandRecord.amount(user)
            if amount is not None:
                self.eq.set_amount(amount)
            bypass = CommandRecord.bypass(user)
            if bypass is not None:
                self._bypassed = bypass
        if decided is not None:
            self._classifier_genre = CommandRecord.genre(decided)
            self._classifier_blend = self.classifier_commands.blend(decided)
            curves = self.classifier_commands.curves(decided)
            if curves is not None:
                self.eq.set_curves(curves)
        if user is not None or decided is not None:  # the user's choice outranks the classifier's blend
            self.eq.set_blend(self._classifier_blend if self._user_genre is None else None)
        wanted = self._user_genre if self._user_genre is not None else self._classifier_genre
        if wanted is not None and self.genres[wanted] != self.eq.target:
            self.eq.select(self.genres[wanted])

    def _publish(self) -> None:
        output, limiter = self.output_analysis, self.limiter
        self._published.write(
            (self.input_analysis.band_ms, self.input_analysis.overall_ms),
            None if output is None else (output.band_ms, output.overall_ms), self.eq.current_gains(),
            self.frames, self.blocks, self._genre_index[self.eq.target], self.eq.fade_progress,
            self.level.gain_db if self.level is not None else 0.0, self._bypass_position,
            limiter.limited_blocks if limiter is not None else 0, limiter.deepest_reduction_db if limiter is not None else 0.0)
