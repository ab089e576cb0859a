"""The streaming engine: one object that turns an input block into an output block.

Per block: condition the input, keep a copy for the classifier and analyse it (front.py;
live, outside match mode, the analysis reads that copy beside the audio path: meter.py),
read the command records, equalize (crossfading or steering), match the EQ's loudness to the
input's, crossfade to the dry input while bypassed, run the post plugins, hold the ceiling
(limiter), analyse the output (live: only copy it for the meter read beside, meter.py),
publish a snapshot. Without plugins, the first three steps run as one compiled call
(front.py), and so do level matching to the meter's copy (back.py). Everything the block
touches is allocated here, up front.

Other threads (or processes) talk to the engine through doors that never make the audio
thread wait: two command records (the user's and the classifier's, whose side is
``classifier_port``; a user's choice outranks the classifier's), read once per block, and
``snapshot``, a sequence-checked copy of the published state that the reader retries, so a
torn read is never returned. Before the first block, a run fixes what it decided for a whole
track (``hold_track``) or moves the classifier's parts into shared memory
(``link_classifier``); after the last, ``figures`` is what its summary reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .back import back_stages
from .commands import Arbiter, CommandRecord
from .config import MIN_BLOCK_SIZE, EngineConfig
from .curve_eq import CurveEQ
from .eq import Bypass, Equalizer, PresetEQ
from .filterbank import FilterBank
from .front import INPUT_LIMIT, condition, condition_into_ring, front_end
from .limiter import Limiter
from .loudness import IntegratedLoudness, LevelMatch
from .match import MatchEQ
from .meter import input_meter, output_meter
from .plugins import PluginInsert
from .port import ClassifierPort
from .presets import Preset, load_presets
from .ring import InputRing
from .snapshot import Figures, Published, Snapshot, Sound, Stage, StageProfile

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
        self.output_analysis = FilterBank(config.bands, rate, channels, config.rms_window_s) \
            if config.analyze_output else None
        self._output_meter = output_meter(config, self.output_analysis)
        self._eq = self._equalizer(genre)
        self.curve_filters = self._eq.curve_filters if isinstance(self._eq, CurveEQ) else 0  # posted per genre
        self.user_commands = CommandRecord(len(self.genres))
        self.pre_plugins, self.post_plugins = tuple(pre_plugins), tuple(post_plugins)
        ring_frames = int(config.input_ring_s * rate)
        keeps_input = ring_frames > 2 * config.max_block_size
        ring = InputRing(ring_frames, channels, config.max_block_size) if keeps_input else None
        self._port = ClassifierPort(ring, CommandRecord(len(self.genres), curve_filters=self.curve_filters),
                                    self.genres, rate, channels)
        self._input_meter = input_meter(config, self.input_analysis, ring)
        self._clean = np.zeros((config.max_block_size, channels), dtype=np.float32)
        self._no_ring = np.zeros((0, channels), dtype=np.float32)
        self._analysis_arrays = self.input_analysis.kernel_arrays  # updated in place, looked up once
        self._level = LevelMatch(rate, channels, config.gain_slew_db_per_s) if config.level_match else None
        self._limiter = Limiter(config.ceiling_db, rate, channels) if config.ceiling_db is not None else None
        # A whole-track render's look at what the EQ hears and what it makes (before level matching).
        self._eq_meters: tuple[IntegratedLoudness | None, IntegratedLoudness] | None = None
        self.profile: StageProfile | None = None
        self._bypass = Bypass(rate, BYPASS_FADE_S)
        self._arbiter = Arbiter(self.user_commands, self._port.commands, self.genres, self._eq, self._bypass)
        self.repaired_samples = 0  # NaN, Inf or beyond INPUT_LIMIT, since the start
        self.blocks = self.frames = 0
        most_filters = max(len(self._eq.filters(name)) for name in self.genres)
        self._published = Published(channels, len(config.bands), most_filters)
        # every chain meets a full-size block before the audio thread does (JUCE prepares its
        # buffers on first use); numba kernels are compiled eagerly at import
        self._eq.warm_up(np.zeros((config.max_block_size, channels), dtype=np.float32))
        self._publish()
        self._stages = self._build_stages()

    def _equalizer(self, genre: str) -> Equalizer:
        config = self.config
        if config.mode == "match":
            return MatchEQ(self.presets, config, genre, self.input_analysis)
        if config.mode == "range":
            return CurveEQ(self.genres, config, genre)
        return PresetEQ(self.presets, config, genre)

    def _build_stages(self) -> tuple[Stage, ...]:
        """The block's path as a list of stages, built once: a stage that is off (no plugins,
        no ring, no limiter, ...) is left out, so it costs nothing per block; with a profile,
        each stage is timed. Each stage binds its part here: a door that changes a part
        (``link_classifier``, ``measure_eq``) builds the stages again."""
        eq, meters, arbiter = self._eq, self._eq_meters, self._arbiter
        stages: list[tuple[str, Stage | None]] = [
            *self._front_stages(),
            ("commands", lambda _raw, _clean, _out: arbiter.apply()),
            ("eq", lambda _raw, clean, out: eq.process(clean, out)),
            ("eq input meter", (lambda _raw, clean, _out: meters[0].add(clean)) if meters and meters[0] else None),
            ("eq output meter", (lambda _raw, _clean, out: meters[1].add(out)) if meters else None),
            *back_stages(self._level, self._bypass, self.post_plugins, self._limiter, self.output_analysis,
                         self._output_meter),
            ("publish", self._publish_block),
        ]
        active = [(name, stage) for name, stage in stages if stage is not None]
        if self.profile is not None:
            self.profile.names = [name for name, _ in active]
            return tuple(self.profile.timed(index, stage) for index, (_, stage) in enumerate(active))
        return tuple(stage for _, stage in active)

    def _front_stages(self) -> list[tuple[str, Stage | None]]:
        """Without pre plugins, nothing sits between conditioning and the input analysis: one
        compiled call does both and the ring copy between them (the copy alone, where the
        analysis reads the ring beside the audio path)."""
        ring, analysis = self._port.ring, self.input_analysis
        in_block = self.config.analyze_input and self._input_meter is None  # else read beside, from the ring
        if not self.pre_plugins and self.config.analyze_input:
            self._front_kernel, self._front_arrays = (front_end, self._analysis_arrays) if in_block \
                else (condition_into_ring, ())
            return [("front end" if in_block else "front end (analysis beside)",
                     self._front_end if ring is not None else self._front_end_without_ring)]
        return [
            ("conditioning", self._condition),
            ("pre plugins", self._run_pre_plugins if self.pre_plugins else None),
            ("ring", (lambda _raw, clean, _out: ring.write(clean)) if ring is not None else None),
            ("input analysis", (lambda _raw, clean, _out: analysis.process(clean)) if in_block else None),
        ]

    def measure_eq(self, meters: tuple[IntegratedLoudness | None, IntegratedLoudness]) -> None:
        """Feed what the EQ hears (None: unmetered) and makes to these meters (a whole-track render)."""
        self._eq_meters = meters
        self._stages = self._build_stages()

    def hold_track(self, gain_db: float | None = None, balance_db: np.ndarray | None = None) -> None:
        """A whole-track render's decisions, before its first block: level matching's gain held
        at ``gain_db``, and (match mode) the EQ steered by the track's long-term ``balance_db``
        instead of the running levels."""
        if balance_db is not None:
            if not isinstance(self._eq, MatchEQ):
                raise ValueError(f"{self.config.mode} mode steers by no balance: only match mode holds one")
            self._eq.hold(balance_db)
        if gain_db is not None:
            if self._level is None:
                raise ValueError("level matching is off: there is no gain to hold")
            self._level.hold(gain_db)

    def link_classifier(self, ring: InputRing, commands: CommandRecord) -> None:
        """Before the first block: keep the classifier's input in ``ring`` and read its
        commands from ``commands``, shaped as the engine's own (genre/process.py puts both in
        shared memory for a classifier in its own process)."""
        port = self._port
        if self.blocks:
            raise RuntimeError("the classifier's parts move only before the first block")
        if port.ring is None or ring.buffer.shape != port.ring.buffer.shape \
                or commands.fields.dtype != port.commands.fields.dtype:
            raise ValueError("the classifier's ring and command record must be shaped as the engine's")
        self._port = replace(port, ring=ring, commands=commands)
        self._input_meter = input_meter(self.config, self.input_analysis, ring)
        self._arbiter = Arbiter(self.user_commands, commands, self.genres, self._eq, self._bypass)
        self._stages = self._build_stages()

    def start_profile(self, blocks: int) -> StageProfile:
        """Time each stage of the next ``blocks`` blocks (``bench --profile``)."""
        self.profile = StageProfile(blocks)
        self._stages = self._build_stages()
        return self.profile

    def _check_genre(self, genre: str) -> None:
        if genre not in self.presets:
            raise ValueError(f"unknown genre {genre!r}; available: {', '.join(sorted(self.presets))}")

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

    @property
    def classifier_port(self) -> ClassifierPort:
        """The classifier's side: the input ring to read and its command record to post into."""
        return self._port

    @property
    def latency_frames(self) -> int:
        """Frames the stream is delayed by: the plugins' reported latency (once primed) and
        the limiter's look-ahead."""
        limiter = self._limiter.latency if self._limiter is not None else 0
        return limiter + sum(plugin.latency for plugin in (*self.pre_plugins, *self.post_plugins))

    @property
    def genre(self) -> str:
        """The genre whose EQ is (or is becoming) audible."""
        return self._eq.target

    def snapshot(self) -> Snapshot:
        """A consistent copy of the latest published state (retries while a block publishes)."""
        level, limiter = self._level, self._limiter
        sound = Sound(level.gain_db if level is not None else 0.0, self._bypass.position,
                      limiter.limited_blocks if limiter is not None else 0,
                      limiter.deepest_reduction_db if limiter is not None else 0.0)
        snapshot = self._published.snapshot(self.genres, self._eq.filters, self.config.sample_rate,
                                            self.output_analysis is not None, sound)
        if self._input_meter is not None:
            band_ms, overall_ms = self._input_meter.levels()
            snapshot = replace(snapshot, input_band_ms=band_ms, input_overall_ms=overall_ms)
        if self._output_meter is not None:
            band_ms, overall_ms = self._output_meter.levels()
            snapshot = replace(snapshot, output_band_ms=band_ms, output_overall_ms=overall_ms)
        return snapshot

    def figures(self) -> Figures:
        """What a summary reports, once the stream has ended (the audio thread's counts, read as they stand)."""
        level, limiter = self._level, self._limiter
        return Figures(self.blocks, self.repaired_samples, self.latency_frames,
                       limiter.latency if limiter is not None else 0,
                       level.gain_db if level is not None and not level.held else None,
                       limiter.limited_blocks if limiter is not None else None,
                       limiter.deepest_reduction_db if limiter is not None else 0.0)

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

    def _front_end_without_ring(self, raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        self.repaired_samples += front_end(raw, clean, INPUT_LIMIT, self._no_ring, 0, *self._analysis_arrays)

    def _front_end(self, raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        ring = self._port.ring
        self.repaired_samples += self._front_kernel(raw, clean, INPUT_LIMIT, ring.buffer,
                                                    ring.written % ring.buffer.shape[0], *self._front_arrays)
        ring.advance(clean.shape[0])  # after the audio it counts, as InputRing.write does

    def _condition(self, raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        self.repaired_samples += condition(raw, clean, INPUT_LIMIT)

    def _run_pre_plugins(self, _raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        for plugin in self.pre_plugins:
            plugin.process(clean, clean)

    def _publish_block(self, _raw: np.ndarray, clean: np.ndarray, _out: np.ndarray) -> None:
        self.blocks += 1
        self.frames += clean.shape[0]
        self._publish()

    def _publish(self) -> None:
        eq = self._eq
        source = self.input_analysis if self._input_meter is None else None  # else the meters', when read
        output = self.output_analysis if self._output_meter is None else None
        self._published.write(
            None if source is None else (source.band_ms, source.overall_ms),
            None if output is None else (output.band_ms, output.overall_ms), eq.current_gains(),
            self.frames, self.blocks, self._genre_index[eq.target], eq.fade_progress)
