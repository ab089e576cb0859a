"""Latency benchmarks: the engine's share of each block period, against baselines measured
in the same run.

Machines differ, so what carries from one to another is shares of the block period and
ratios, not microseconds. The harness is paced like a device: one block per period, and
every subject (the engine and each baseline) processes that block in turn, in rotating
order, so all of them meet the same machine state, cold caches included. The engine runs
with the genre classifier beside it in its own thread, exactly as in live use.

Baselines:

* ``scipy_sosfilt``: the same band analysis and EQ done per block with ``scipy.signal``
  (``sosfilt`` carrying ``zi`` for the band and EQ biquads, ``lfilter`` for the
  mean-square integrators): what the engine would cost written the obvious way.
* ``pedalboard_chain``: the preset's pedalboard chain alone, no analysis.
* ``copy``: copying the block, the physical floor of any callback.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from .config import BENCH_BLOCK_SIZES, EngineConfig
from .demo import demo_clip
from .engine import Engine
from .eq import build_chain, usable_filters
from .filterbank import band_set, design_bands
from .presets import EqFilter, Preset, load_presets

BAND_SETS = ("paper", "octave", "third-octave")
BASELINES = ("scipy_sosfilt", "pedalboard_chain", "copy")
PRESET = "rock_pop"

Process = Callable[[np.ndarray, np.ndarray], None]


# -- statistics ---------------------------------------------------------------------------------
def distribution(durations_s: np.ndarray, period_s: float) -> dict:
    """p50/p99/p99.9/max in microseconds and as shares of the block period, and the count."""
    us = np.asarray(durations_s) * 1e6
    values = {"p50": np.median(us), "p99": np.percentile(us, 99), "p999": np.percentile(us, 99.9),
              "max": np.max(us)}
    entry = {f"{name}_us": round(float(v), 2) for name, v in values.items()}
    entry.update({f"{name}_share": round(float(v) / (period_s * 1e6), 5) for name, v in values.items()})
    entry["blocks"] = int(len(us))
    return entry


def drift(durations_s: np.ndarray, windows: int = 10) -> list[float]:
    """p99 (us) of each successive tenth of a run: a rising series is a leak or a slowdown."""
    parts = np.array_split(np.asarray(durations_s) * 1e6, windows)
    return [round(float(np.percentile(p, 99)), 2) for p in parts if len(p)]


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


# -- baselines ------------------------------------------------------------------------------------
def biquad_sos(f: EqFilter, sample_rate: float) -> np.ndarray:
    """One EQ filter as a second-order section (RBJ Audio EQ Cookbook, the designs pedalboard's
    JUCE filters follow), so the scipy baseline applies the same EQ as the engine."""
    a = 10.0 ** (f.gain_db / 40.0)
    w0 = 2.0 * math.pi * f.frequency_hz / sample_rate
    cos, alpha = math.cos(w0), math.sin(w0) / (2.0 * f.q)
    if f.kind == "peak":
        b = (1 + alpha * a, -2 * cos, 1 - alpha * a)
        den = (1 + alpha / a, -2 * cos, 1 - alpha / a)
    else:
        root = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if f.kind == "low_shelf" else -1.0
        b = (a * ((a + 1) - sign * (a - 1) * cos + root), sign * 2 * a * ((a - 1) - sign * (a + 1) * cos),
             a * ((a + 1) - sign * (a - 1) * cos - root))
        den = ((a + 1) + sign * (a - 1) * cos + root, -sign * 2 * ((a - 1) + sign * (a + 1) * cos),
               (a + 1) + sign * (a - 1) * cos - root)
    return np.array([*b, *den]) / den[0]


class ScipyBaseline:
    """The engine's input analysis and preset EQ, per block with scipy.signal."""

    def __init__(self, bands, filters: tuple[EqFilter, ...], sample_rate: float, channels: int,
                 rms_window_s: float) -> None:
        self.band_sos, _ = design_bands(bands, sample_rate)
        self.band_zi = np.zeros((len(bands), self.band_sos.shape[1], 2, channels))
        alpha = 1.0 - math.exp(-1.0 / (rms_window_s * sample_rate))
        self.integrator = (np.array([alpha]), np.array([1.0, alpha - 1.0]))
        self.ms_zi = np.zeros((len(bands) + 1, 1, channels))
        self.band_ms = np.zeros((len(bands), channels))
        self.eq_sos = np.array([biquad_sos(f, sample_rate) for f in filters]).reshape(-1, 6)
        self.eq_zi = np.zeros((len(self.eq_sos), 2, channels))

    def process(self, block: np.ndarray, out: np.ndarray) -> None:
        b, a = self.integrator
        for index, sos in enumerate(self.band_sos):
            band, self.band_zi[index] = signal.sosfilt(sos, block, axis=0, zi=self.band_zi[index])
            ms, self.ms_zi[index] = signal.lfilter(b, a, band * band, axis=0, zi=self.ms_zi[index])
            self.band_ms[index] = ms[-1]
        _, self.ms_zi[-1] = signal.lfilter(b, a, block * block, axis=0, zi=self.ms_zi[-1])
        if len(self.eq_sos):
            out[:], self.eq_zi = signal.sosfilt(self.eq_sos, block, axis=0, zi=self.eq_zi)
        else:
            out[:] = block


def pedalboard_baseline(filters: tuple[EqFilter, ...], sample_rate: float) -> Process:
    board, plugins = build_chain(filters)
    for plugin, f in zip(plugins, filters):
        plugin.gain_db = f.gain_db

    def process(block: np.ndarray, out: np.ndarray) -> None:
        out[:] = board.process(block, sample_rate, buffer_size=block.shape[0], reset=False)

    return process


def copy_baseline(block: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, block)


# -- the harness ----------------------------------------------------------------------------------
def paced_run(subjects: dict[str, Process], audio: np.ndarray, block_size: int, sample_rate: float,
              seconds: float) -> dict[str, np.ndarray]:
    """Feed every subject one block per block period, like a device would, timing each call."""
    period = block_size / sample_rate
    count = max(1, int(seconds / period))
    names = list(subjects)
    durations = {name: np.zeros(count) for name in names}
    out = np.empty((block_size, audio.shape[1]), dtype=np.float32)
    clock = time.perf_counter
    deadline = clock()
    for i in range(count):
        start = (i * block_size) % (audio.shape[0] - block_size)
        block = audio[start : start + block_size]
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            began = clock()
            subjects[name](block, out)
            durations[name][i] = clock() - began
        deadline += period
        wait = deadline - clock()
        if wait > 0:
            time.sleep(wait)
        else:
            deadline = clock()  # behind: start again from now rather than rush to catch up
    return durations


@dataclass
class Settings:
    sample_rate: int = 48_000
    channels: int = 2
    block_sizes: tuple[int, ...] = BENCH_BLOCK_SIZES
    bands: str = "paper"
    seconds: float = 4.0
    weights: Path | None = None


def _audio(settings: Settings) -> np.ndarray:
    audio, _ = demo_clip(seconds=8.0, sample_rate=settings.sample_rate)
    if settings.channels == 1:
        return np.ascontiguousarray(audio.mean(axis=1, keepdims=True))
    return np.ascontiguousarray(np.resize(audio.T, (settings.channels, audio.shape[0])).T)


def _engine(settings: Settings, presets: dict[str, Preset], bands: str, block_size: int,
            input_ring_s: float) -> Engine:
    config = EngineConfig(sample_rate=settings.sample_rate, channels=settings.channels,
                          bands=band_set(bands), input_ring_s=input_ring_s,
                          max_block_size=max(block_size, 8192))
    return Engine(config, presets, genre=PRESET)


def _classifier_beside(engine: Engine, model):
    """The classifier thread, as in live use (nothing, if there is no model)."""
    if model is None:
        return nullcontext(None)
    from .classifier import ClassifierThread, GenreClassifier

    return ClassifierThread(GenreClassifier(engine, model))


def measure_block_sizes(settings: Settings, presets: dict[str, Preset], model, audio: np.ndarray,
                        progress: Callable[[str], None], raw: dict | None = None) -> tuple[dict, list[float]]:
    """Per block size: the engine (classifier beside) and each baseline, paced together; with
    ``raw``, every block's time (s) is kept there too, by block size and subject."""
    preset_filters = usable_filters(presets[PRESET].eq, settings.sample_rate)
    bands = band_set(settings.bands)
    results, call_seconds = {}, []
    for block_size in settings.block_sizes:
        progress(f"measuring {block_size}-frame blocks")
        period = block_size / settings.sample_rate
        engine = _engine(settings, presets, settings.bands, block_size, 8.0 if model is not None else 0.0)
        scipy_baseline = ScipyBaseline(bands, preset_filters, settings.sample_rate, settings.channels,
                                       engine.config.rms_window_s)
        subjects = {"engine": engine.process, "scipy_sosfilt": scipy_baseline.process,
                    "pedalboard_chain": pedalboard_baseline(preset_filters, settings.sample_rate),
                    "copy": copy_baseline}
        with _classifier_beside(engine, model) as beside:
            durations = paced_run(subjects, audio, block_size, settings.sample_rate, settings.seconds)
        if beside is not None:
            call_seconds += beside.classifier.call_seconds
        if raw is not None:
            raw[block_size] = durations
        entry = {"period_us": round(period * 1e6, 2)}
        entry.update({name: distribution(d, period) for name, d in durations.items()})
        entry["engine"]["p99_drift_us"] = drift(durations["engine"])
        entry["ratios_p50"] = {f"engine/{name}": round(entry["engine"]["p50_us"] / entry[name]["p50_us"], 2)
                               for name in BASELINES}
        results[str(block_size)] = entry
    return results, call_seconds


def measure_bands(settings: Settings, presets: dict[str, Preset], audio: np.ndarray, block_size: int = 256) -> dict:
    """The engine's cost against the number of analysis bands (one paced run, all band sets)."""
    engines = {str(len(band_set(name))): _engine(settings, presets, name, block_size, 0.0) for name in BAND_SETS}
    durations = paced_run({n: e.process for n, e in engines.items()}, audio, block_size, settings.sample_rate,
                          settings.seconds)
    period = block_size / settings.sample_rate
    return {"block_size": block_size,
            **{bands: {"set": name, **distribution(durations[bands], period)}
               for bands, name in zip(engines, BAND_SETS)}}


def measure_offline(settings: Settings, presets: dict[str, Preset], model, audio: np.ndarray) -> dict:
    """`inteleq-rt process` end to end on a float WAV (automatic mode if there is a model)."""
    import soundfile as sf

    from .audio_io import render_file

    with tempfile.TemporaryDirectory() as folder:
        source, destination = Path(folder) / "in.wav", Path(folder) / "out.wav"
        sf.write(str(source), np.tile(audio, (3, 1)), settings.sample_rate, subtype="FLOAT")
        config = EngineConfig(sample_rate=settings.sample_rate, channels=settings.channels,
                              bands=band_set(settings.bands), analyze_output=False,
                              input_ring_s=8.0 if model is not None else 0.0)
        engine = Engine(config, presets, genre=PRESET)
        classifier = None
        if model is not None:
            from .classifier import GenreClassifier

            classifier = GenreClassifier(engine, model)
        result = render_file(engine, source, destination,
                             on_block=(lambda _engine: classifier.step()) if classifier else None)
    return {"seconds_of_audio": round(result.frames / result.sample_rate, 2),
            "render_seconds": round(result.seconds, 4), "realtime_factor": round(result.realtime_factor, 1),
            "automatic": model is not None}


def measure_classifier(model, live_call_seconds: list[float], calls: int = 300) -> dict:
    """Forward-pass latency: called back to back, and as measured beside the paced engine."""
    features = np.random.default_rng(0).normal(size=(calls, model.spec.size)).astype(np.float32)
    model.warm_up()
    seconds = np.zeros(calls)
    for i in range(calls):
        began = time.perf_counter()
        model.probabilities(features[i])
        seconds[i] = time.perf_counter() - began
    entry = {"back_to_back": {"p50_ms": round(float(np.median(seconds)) * 1e3, 3),
                              "p99_ms": round(float(np.percentile(seconds, 99)) * 1e3, 3), "calls": calls}}
    if live_call_seconds:
        live = np.array(live_call_seconds)
        entry["beside_engine"] = {"p50_ms": round(float(np.median(live)) * 1e3, 3),
                                  "p99_ms": round(float(np.percentile(live, 99)) * 1e3, 3), "calls": len(live)}
    return entry


# Run with `python -c` in a fresh interpreter, so nothing is imported before the clock starts.
_STARTUP_PROBE = """
import json, sys, time
clock = time.perf_counter
began = clock()
import numpy as np
from inteleq_rt.config import EngineConfig
from inteleq_rt.engine import Engine  # numba kernels load from the cache (or compile) here
imported = clock()
weights = sys.argv[1]
engine = Engine(EngineConfig(input_ring_s=8.0 if weights else 0.0), genre="rock_pop")
built = clock()
block = np.zeros((256, 2), dtype=np.float32)
engine.process(block, np.empty_like(block))
first = clock()
entry = {"import_engine_s": imported - began, "build_engine_s": built - imported,
         "first_block_ms": (first - built) * 1e3}
if weights:
    from inteleq_rt.model import load_model
    model = load_model(weights)
    loaded = clock()
    model.warm_up()
    entry.update({"import_jax_and_load_model_s": loaded - first, "compile_forward_pass_s": clock() - loaded})
entry["total_s"] = clock() - began
print(json.dumps({k: round(v, 4) for k, v in entry.items()}))
"""


def measure_startup(weights: Path | None) -> dict:
    """Import, build, first-block and model times, in a fresh interpreter."""
    command = [sys.executable, "-c", _STARTUP_PROBE, str(weights or "")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout)


class LoopbackProbe:
    """The callback body of the live benchmark: the engine equalizes a probe signal (quiet
    noise with a click every ``every`` frames) out to the device, and what comes back on the
    input is searched for the clicks. Every other click bypasses the engine, so the round trip
    with and without it can be compared: the difference is the latency the engine adds.

    The engine is fed the probe rather than the input, so a loopback cannot feed back.
    """

    def __init__(self, engine: Engine, block_size: int, every_blocks: int, threshold: float = 0.1) -> None:
        channels = engine.config.channels
        self.engine = engine
        self.every = block_size * every_blocks
        noise = np.random.default_rng(1).normal(scale=1e-3, size=(self.every, channels))
        self.source = noise.astype(np.float32)
        self.source[0] = 0.5
        self.scratch = np.zeros((block_size, channels), dtype=np.float32)
        self.threshold = threshold
        self.position = 0
        self.latencies = {True: np.zeros(4096, dtype=np.int64), False: np.zeros(4096, dtype=np.int64)}
        self.counts = {True: 0, False: 0}
        self._heard_click = -1

    def process(self, indata: np.ndarray, outdata: np.ndarray) -> None:
        frames = indata.shape[0]
        offset = self.position % self.every
        click = self.position // self.every
        through_engine = click % 2 == 0
        block = self.source[offset : offset + frames]
        if through_engine:
            self.engine.process(block, outdata)
        else:  # the engine still runs, so the callback costs the same; its output is unused
            self.engine.process(block, self.scratch[:frames])
            outdata[:] = block
        loud = np.abs(indata[:, 0]) > self.threshold
        if loud.any():
            arrival = self.position + int(np.argmax(loud))
            sent = arrival // self.every
            if sent != self._heard_click:  # the first sample over the threshold of each click
                self._heard_click = sent
                kind = sent % 2 == 0
                if self.counts[kind] < len(self.latencies[kind]):
                    self.latencies[kind][self.counts[kind]] = arrival - sent * self.every
                    self.counts[kind] += 1
        self.position += frames

    def round_trip(self, reported_latency_s: tuple[float, float] | None, sample_rate: int) -> dict:
        reported = None if reported_latency_s is None else round(sum(reported_latency_s) * sample_rate)
        through = self.latencies[True][: self.counts[True]]
        direct = self.latencies[False][: self.counts[False]]
        if len(through) == 0 or len(direct) == 0:
            return {"measured_frames": None, "reported_frames": reported,
                    "note": "connect the device's outputs to its inputs (on JACK: jack_connect "
                            "PortAudio:out_1 PortAudio:in_1) and run again"}
        measured = int(np.median(through))
        return {"measured_frames": measured, "measured_ms": round(measured / sample_rate * 1e3, 3),
                "direct_frames": int(np.median(direct)), "reported_frames": reported,
                "added_by_engine_frames": measured - int(np.median(direct)),
                "clicks_heard": int(len(through) + len(direct)),
                "spread_frames": int(np.ptp(np.concatenate([through, direct])))}


def wire_jack_loopback() -> str:
    """Connect each PortAudio output port to the input port of the same number on the running
    JACK server (taking the system capture off them): the loopback of the round-trip probe."""
    def jack(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, capture_output=True, text=True, timeout=10)

    try:
        listing = jack("jack_lsp", "-c").stdout
    except FileNotFoundError:
        return "jack_lsp not found (install jackd2)"
    connections: dict[str, list[str]] = {}
    port = None
    for line in listing.splitlines():
        if line.startswith((" ", "\t")) and port is not None:
            connections[port].append(line.strip())
        else:
            port = line.strip()
            connections[port] = []
    inputs = sorted(p for p in connections if p.startswith("PortAudio") and ":in_" in p)
    outputs = sorted(p for p in connections if p.startswith("PortAudio") and ":out_" in p)
    if not inputs or not outputs:
        return "no PortAudio ports on the JACK server"
    for into in inputs:
        for source in connections[into]:
            jack("jack_disconnect", source, into)
    for source, into in zip(outputs, inputs):
        jack("jack_connect", source, into)
    return f"wired {len(inputs)} JACK loopback connection(s)"


def measure_live(device: str, settings: Settings, block_size: int, model,
                 progress: Callable[[str], None], jack_loopback: bool = False, raw: dict | None = None) -> dict:
    """The engine on a real device for ``settings.seconds``: callback times, xruns, memory,
    and the round trip through a loopback compared with the device's reported latency."""
    from . import audio_io

    parsed = audio_io.parse_device(device)
    name = audio_io.resolve_device(parsed, "output")["name"]
    presets = load_presets()
    engine = _engine(settings, presets, settings.bands, block_size, 8.0 if model is not None else 0.0)
    probe = LoopbackProbe(engine, block_size, every_blocks=max(1, round(0.25 * settings.sample_rate / block_size)))
    memory_start = rss_mb()
    deadline = time.monotonic() + settings.seconds
    progress(f"measuring live on {name!r} for {settings.seconds:g} s")
    wiring, memory = [], []

    def on_tick(_stats) -> None:
        if jack_loopback and not wiring:  # the ports exist once the stream runs
            wiring.append(wire_jack_loopback())
            progress(wiring[0])
        memory.append(rss_mb())

    with _classifier_beside(engine, model):
        stats = audio_io.run_live(engine, parsed, parsed, block_size, lambda: time.monotonic() >= deadline,
                                  on_tick=on_tick, process=probe.process)
    if stats.error is not None:
        raise audio_io.AudioError(f"the audio stream failed: {stats.error}")
    durations = stats.recent_durations()
    if raw is not None:
        raw["live"] = durations.copy()
    period = block_size / settings.sample_rate
    return {"device": name, "block_size": block_size, "seconds": settings.seconds, "callbacks": stats.count,
            "xruns": stats.xruns,
            "first_xruns_at_s": [round(float(i) * period, 2) for i in stats.first_xruns()[:8]],
            "callback": distribution(durations, period),
            "p99_drift_us": drift(durations), "rss_start_mb": memory_start, "rss_end_mb": rss_mb(),
            "rss_mb_by_tenths": [float(part[-1]) for part in np.array_split(np.array(memory), 10) if len(part)],
            "round_trip": probe.round_trip(stats.reported_latency_s, settings.sample_rate)}


def machine() -> dict:
    import jax
    import numba
    import pedalboard
    import scipy

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "jax": jax.__version__,
            "pedalboard": pedalboard.__version__,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def run(settings: Settings, progress: Callable[[str], None], model=None, raw: dict | None = None) -> dict:
    """The whole benchmark without a device, with ``model`` (or none) classifying beside the
    engine; returns the JSON-ready result (``raw``: see ``measure_block_sizes``)."""
    if model is not None:
        model.check_sample_rate(settings.sample_rate)
    presets = load_presets()
    audio = _audio(settings)
    memory_start = rss_mb()
    result = {"machine": machine(),
              "settings": {"sample_rate": settings.sample_rate, "channels": settings.channels,
                           "bands": settings.bands, "preset": PRESET, "seconds_per_block_size": settings.seconds,
                           "classifier": str(settings.weights) if model is not None else None}}
    blocks, call_seconds = measure_block_sizes(settings, presets, model, audio, progress, raw)
    result["block_sizes"] = blocks
    progress("measuring cost against analysis bands")
    result["bands"] = measure_bands(settings, presets, audio)
    progress("measuring offline render")
    result["offline"] = measure_offline(settings, presets, model, audio)
    if model is not None:
        progress("measuring the classifier")
        result["classifier"] = measure_classifier(model, call_seconds)
    progress("measuring start-up in a fresh interpreter")
    result["startup"] = measure_startup(settings.weights if model is not None else None)
    result["memory"] = {"rss_start_mb": memory_start, "rss_end_mb": rss_mb()}
    return result


def format_table(result: dict) -> str:
    """The readable report: engine time per block size with baseline ratios, then the rest."""
    s = result["settings"]
    beside = "classifier beside" if s["classifier"] else "no classifier (no weights)"
    lines = [f"engine per block: {s['sample_rate']} Hz, {s['channels']} ch, {s['bands']} bands, preset "
             f"{s['preset']}, {beside}; paced one block per period, {s['seconds_per_block_size']:g} s each",
             f"{'block':>6} {'period':>8} {'p50':>8} {'p99':>8} {'p99.9':>8} {'max':>8} {'p99 of':>7}"
             f" | {'x scipy':>8} {'x pedalb':>8} {'x copy':>8}",
             f"{'frames':>6} {'us':>8} {'us':>8} {'us':>8} {'us':>8} {'us':>8} {'period':>7}"
             f" | {'(p50 ratios: engine / baseline)':>26}"]
    for frames, entry in result["block_sizes"].items():
        e, r = entry["engine"], entry["ratios_p50"]
        lines.append(f"{frames:>6} {entry['period_us']:>8.0f} {e['p50_us']:>8.1f} {e['p99_us']:>8.1f} "
                     f"{e['p999_us']:>8.1f} {e['max_us']:>8.1f} {e['p99_share']:>7.1%} | "
                     + " ".join(f"{r[f'engine/{name}']:>8.2f}" for name in BASELINES))
    lines.append("baselines, p50 / p99 us: " + "; ".join(
        f"{frames}: " + ", ".join(f"{name} {entry[name]['p50_us']:.1f}/{entry[name]['p99_us']:.1f}"
                                  for name in BASELINES)
        for frames, entry in result["block_sizes"].items() if frames in ("64", "256")))
    bands = result["bands"]
    lines.append(f"analysis bands at {bands['block_size']} frames, engine p50 / p99 us: " + ", ".join(
        f"{n} bands {v['p50_us']:.1f}/{v['p99_us']:.1f}" for n, v in bands.items() if n != "block_size"))
    offline = result["offline"]
    lines.append(f"offline render (process, {'automatic' if offline['automatic'] else 'fixed genre'}): "
                 f"{offline['realtime_factor']:.0f}x real time ({offline['seconds_of_audio']:g} s of audio)")
    if "classifier" in result:
        c = result["classifier"]
        text = f"classifier call: back to back p50 {c['back_to_back']['p50_ms']:.3f} ms, p99 {c['back_to_back']['p99_ms']:.3f} ms"
        if "beside_engine" in c:
            text += (f"; beside the engine p50 {c['beside_engine']['p50_ms']:.3f} ms, "
                     f"p99 {c['beside_engine']['p99_ms']:.3f} ms ({c['beside_engine']['calls']} calls)")
        lines.append(text)
    startup = result["startup"]
    lines.append("start-up: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in startup.items()))
    m = result["memory"]
    lines.append(f"memory: RSS {m['rss_start_mb']} MB at start, {m['rss_end_mb']} MB at end")
    if "live" in result:
        lines.append(format_live(result["live"]))
    return "\n".join(lines)


def format_live(live: dict) -> str:
    c = live["callback"]
    lines = [f"live on {live['device']!r}: {live['block_size']}-frame blocks, {live['seconds']:g} s, "
             f"xruns {live['xruns']} {live['first_xruns_at_s'] or ''}; callback p50 {c['p50_us']:.1f} us, p99 {c['p99_us']:.1f} us, "
             f"p99.9 {c['p999_us']:.1f} us, max {c['max_us']:.1f} us ({c['p99_share']:.1%} of the period)",
             f"  callback p99 over the run (us, by tenths): {live['p99_drift_us']}",
             f"  memory: RSS {live['rss_start_mb']} MB at start, {live['rss_end_mb']} MB at end; "
             f"by tenths of the run: {live['rss_mb_by_tenths']}"]
    loop = live["round_trip"]
    if loop.get("measured_frames") is None:
        lines.append(f"  round trip: no loopback heard ({loop['note']})")
    else:
        lines.append(f"  round trip through the loopback: {loop['measured_frames']} frames "
                     f"({loop['measured_ms']:.2f} ms), device reports {loop['reported_frames']} frames; "
                     f"added by the engine: {loop['added_by_engine_frames']} frames")
    return "\n".join(lines)
