"""The benchmark without a device: the engine's share of each block period against the
baselines (baselines.py) measured in the same run, cost against bands, offline render speed,
classifier latency and start-up.

The harness is paced like a device: one call per block period, in turns of a quarter second
during which one subject takes every block, as a device's callback does; the engine takes
every other turn, the baselines the rest in shuffled rounds. So every subject meets the
machine as a callback meets it (its own code a period old, the core idle between), and
machine drift falls on all of them. (Called back to back in a fixed rotation, a subject read
up to ~25% faster right after one sharing its code, a second engine or the same pedalboard
chain; the engine, called after the copy baseline, never was.) The engine is assembled as a
live run assembles it (``Session``, from ``Options``: the default EQ mode), with what a live
run runs beside it (the classifier's process, or range mode's follower) running, and the
baselines run its EQ chain; the engine without level matching and limiter is sent the same
decisions (``relay``), so it ramps when the engine does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..demo import demo_clip
from ..engine.commands import CommandRecord
from ..engine.config import band_set
from ..engine.presets import EqFilter
from ..engine.seqlock import Seqlock
from ..options import Options
from ..session import Session
from .baselines import BASELINES, Process, ScipyBaseline, copy_baseline, pedalboard_baseline
from .stats import BLOCK_SIZES, distribution, drift, machine, rss_mb

BAND_SETS = ("paper", "octave", "third-octave")
PRESET = "rock_pop"


STRETCH_S = 0.25  # one subject's turn: long enough that its calls meet it as a callback does


def _calls_per_turn(period: float) -> int:
    return max(1, round(STRETCH_S / period))


def most_calls(seconds: float, block_size: int, sample_rate: float, subjects: int) -> int:
    """At most how many calls ``paced_run`` makes (it ends on a whole round of turns)."""
    period = block_size / sample_rate
    return int(seconds / period) + 2 * subjects * _calls_per_turn(period)


def paced_run(subjects: dict[str, Process], audio: np.ndarray, block_size: int, sample_rate: float,
              seconds: float, lead: str | None = None, between: Callable[[], None] | None = None,
              ) -> dict[str, np.ndarray]:
    """Pace ``seconds`` of blocks like a device, one call per block period, timing each: in
    turns of STRETCH_S, one subject takes every block of its turn, as a callback does (its
    code last ran a period ago, the core idled since). ``lead`` (if any) takes every other
    turn and ``between`` runs after each of its calls, untimed; the others take the rest in
    shuffled rounds (seeded). Every subject gets at least one turn."""
    period = block_size / sample_rate
    per_turn = _calls_per_turn(period)
    others = [name for name in subjects if name != lead]
    rng = np.random.default_rng(0)
    schedule: list[str] = []
    while not schedule or len(schedule) * per_turn * period < seconds:
        for name in [others[index] for index in rng.permutation(len(others))] or [lead]:
            schedule += [lead, name] if lead is not None and name != lead else [name]
    durations = {name: np.zeros(schedule.count(name) * per_turn) for name in subjects}
    calls = dict.fromkeys(subjects, 0)
    out = np.empty((block_size, audio.shape[1]), dtype=np.float32)
    clock = time.perf_counter
    deadline = clock()
    for i in range(len(schedule) * per_turn):
        start = (i * block_size) % (audio.shape[0] - block_size)
        name = schedule[i // per_turn]
        began = clock()
        subjects[name](audio[start : start + block_size], out)
        durations[name][calls[name]] = clock() - began
        calls[name] += 1
        if name == lead and between is not None:
            between()
        deadline += period
        wait = deadline - clock()
        if wait > 0:
            time.sleep(wait)
        else:
            deadline = clock()  # behind: start again from now rather than rush to catch up
    return durations


def relay(source: CommandRecord, target: CommandRecord) -> Callable[[], None]:
    """A call that posts to ``target`` what was last posted to ``source`` (the genre, blend and
    range curves of what runs beside the engine measured), so a second engine follows the
    same decisions; a post caught mid-write is taken at the next call."""
    lock, fields, seen = Seqlock(source.fields["sequence"].reshape(1)), source.fields.copy(), 0.0

    def copy_new() -> None:
        nonlocal seen
        version = lock.try_copy(source.fields, fields, seen)  # a reader of its own, as the engine's
        if version is not None:
            seen = version
            target.post(genre=int(fields["genre"]), blend=fields["blend"], curves=fields["curves"])

    return copy_new


@dataclass
class Settings:
    sample_rate: int = 48_000
    channels: int = 2
    block_sizes: tuple[int, ...] = BLOCK_SIZES
    bands: str = "paper"
    seconds: float = 4.0
    weights: Path | None = None


def bench_audio(settings: Settings) -> np.ndarray:
    audio, _ = demo_clip(seconds=8.0, sample_rate=settings.sample_rate)
    if settings.channels == 1:
        return np.ascontiguousarray(audio.mean(axis=1, keepdims=True))
    return np.ascontiguousarray(np.resize(audio.T, (settings.channels, audio.shape[0])).T)


def make_session(settings: Settings, block_size: int, bands: str | None = None, automatic: bool = False,
                 level_and_ceiling: bool = True, plugins: Sequence[str] = ()) -> Session:
    """A live run's session, assembled as `inteleq-rt --device` assembles it (the default EQ
    mode; PRESET chosen, or with ``automatic`` the model in settings.weights deciding;
    ``plugins`` after the EQ); without ``level_and_ceiling``: no level matching and no
    limiter, to show what they cost."""
    options = Options(genre=None if automatic else PRESET, weights=settings.weights if automatic else None,
                      bands=bands or settings.bands, plugins=tuple(plugins), level_match=level_and_ceiling,
                      ceiling_db=-1.0 if level_and_ceiling else None)
    return Session(options, settings.sample_rate, settings.channels, block_size=block_size, live=True)


@contextmanager
def running_beside(session: Session):
    """What the live run runs beside its engine (the classifier's process, or range mode's
    follower), started and listening; yields that process (None: nothing runs beside)."""
    with session.beside_audio():
        process = session.classifier
        if process is not None:
            process.wait_ready()
        yield process


def eq_chain(session: Session) -> tuple[EqFilter, ...]:
    """The filters the session's engine runs (range mode: the fixed layout), for the baselines."""
    return tuple(eq_filter for eq_filter, _ in session.engine.snapshot().eq_gains)


def measure_block_sizes(settings: Settings, model, audio: np.ndarray, progress: Callable[[str], None],
                        raw: dict | None = None) -> tuple[dict, list[float]]:
    """Per block size: the engine (what a live run runs beside it, running) and each baseline,
    paced together; with ``raw``, every block's time (s) is kept there too, by block size and
    subject."""
    bands = band_set(settings.bands)
    results, beside_runs = {}, []
    for block_size in settings.block_sizes:
        progress(f"measuring {block_size}-frame blocks")
        period = block_size / settings.sample_rate
        session = make_session(settings, block_size, automatic=model is not None)
        engine, chain = session.engine, eq_chain(session)
        scipy_baseline = ScipyBaseline(bands, chain, settings.sample_rate, settings.channels,
                                       engine.config.rms_window_s)
        bare = make_session(settings, block_size, automatic=model is not None, level_and_ceiling=False).engine
        subjects = {"engine": engine.process, "engine_without_level_and_ceiling": bare.process,
                    "scipy_sosfilt": scipy_baseline.process,
                    "pedalboard_chain": pedalboard_baseline(chain, settings.sample_rate),
                    "copy": copy_baseline}
        with running_beside(session) as beside:
            follow = relay(engine.classifier_port.commands, bare.classifier_port.commands)
            durations = paced_run(subjects, audio, block_size, settings.sample_rate, settings.seconds, "engine",
                                  follow)
            if beside is not None:
                beside_runs.append(beside.summary())
        if raw is not None:
            raw[block_size] = durations
        entry = {"period_us": round(period * 1e6, 2)}
        entry.update({name: distribution(d, period) for name, d in durations.items()})
        entry["engine"]["p99_drift_us"] = drift(durations["engine"])
        entry["ratios_p50"] = {f"engine/{name}": round(entry["engine"]["p50_us"] / entry[name]["p50_us"], 2)
                               for name in BASELINES}
        results[str(block_size)] = entry
    return results, beside_runs


def measure_bands(settings: Settings, audio: np.ndarray, block_size: int = 256) -> dict:
    """The engine's cost against the number of analysis bands (one paced run, all band sets)."""
    engines = {str(len(band_set(name))): make_session(settings, block_size, name).engine for name in BAND_SETS}
    durations = paced_run({n: e.process for n, e in engines.items()}, audio, block_size, settings.sample_rate,
                          settings.seconds)
    period = block_size / settings.sample_rate
    return {"block_size": block_size,
            **{bands: {"set": name, **distribution(durations[bands], period)}
               for bands, name in zip(engines, BAND_SETS)}}


OFFLINE_TRACK_S = 120.0  # a track's length: a whole-track render's passes cost per track


def measure_offline(settings: Settings, model, audio: np.ndarray) -> dict:
    """`inteleq-rt process` end to end on a two-minute 24-bit WAV, with a fixed genre and (with
    a model, loaded already, as a library run loads it once) in automatic mode."""
    import soundfile as sf

    from ..options import Options
    from ..offline import process_file

    runs = {"fixed_genre": Options(genre=PRESET)}
    if model is not None:
        runs["automatic"] = Options(genre=None, weights=settings.weights)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        source, destination = Path(folder) / "in.wav", Path(folder) / "out.wav"
        track = np.resize(audio, (int(OFFLINE_TRACK_S * settings.sample_rate), audio.shape[1]))
        sf.write(str(source), track, settings.sample_rate, subtype="PCM_24")
        for name, options in runs.items():
            summary = process_file(source, destination, replace(options, force=True), model).summary
            results[name] = {"seconds_of_audio": round(summary["seconds"], 2),
                             "render_seconds": summary["render_seconds"],
                             "realtime_factor": summary["realtime_factor"], "eq": summary.get("eq")}
    return results


def measure_classifier(model, beside_runs: list[dict], calls: int = 100) -> dict:
    """A decision's latency (the model's evidence on its latest window): called back to back
    on a tracker holding the demo clip; and what its process did beside the paced engine."""
    audio, rate = demo_clip(seconds=model.window_s + 1.0)
    tracker = model.tracker(rate, audio.shape[1])
    tracker.push(audio)
    model.warm_up()
    seconds = np.zeros(calls)
    for i in range(calls):
        began = time.perf_counter()
        model.evidence(tracker)
        seconds[i] = time.perf_counter() - began
    entry = {"back_to_back": {"p50_ms": round(float(np.median(seconds)) * 1e3, 3),
                              "p99_ms": round(float(np.percentile(seconds, 99)) * 1e3, 3), "calls": calls}}
    if beside_runs:
        entry["beside_engine"] = {"decisions": sum(run["decisions"] for run in beside_runs),
                                  "last_call_ms": [run.get("classifier_last_call_ms") for run in beside_runs]}
    return entry


def measure_startup(weights: Path | None) -> dict:
    """Import, build, first-block and model times, in a fresh interpreter that runs
    startup.py as a script, so nothing is imported before its clock starts."""
    command = [sys.executable, str(Path(__file__).with_name("startup.py")), str(weights or "")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout)


def run(settings: Settings, progress: Callable[[str], None], model=None, raw: dict | None = None) -> dict:
    """The whole benchmark without a device, with ``model`` (or none) classifying beside the
    engine; returns the JSON-ready result (``raw``: see ``measure_block_sizes``)."""
    if model is not None:
        model.check_sample_rate(settings.sample_rate)
    audio = bench_audio(settings)
    memory_start = rss_mb()
    result = {"machine": machine(),
              "settings": {"sample_rate": settings.sample_rate, "channels": settings.channels,
                           "bands": settings.bands, "mode": Options().mode,
                           "genre": "automatic" if model is not None else PRESET,
                           "seconds_per_block_size": settings.seconds,
                           "classifier": str(settings.weights) if model is not None else None}}
    blocks, beside_runs = measure_block_sizes(settings, model, audio, progress, raw)
    result["block_sizes"] = blocks
    progress("measuring cost against analysis bands")
    result["bands"] = measure_bands(settings, audio)
    progress("measuring offline render")
    result["offline"] = measure_offline(settings, model, audio)
    if model is not None:
        progress("measuring the classifier")
        result["classifier"] = measure_classifier(model, beside_runs)
    progress("measuring start-up in a fresh interpreter")
    result["startup"] = measure_startup(settings.weights if model is not None else None)
    result["memory"] = {"rss_start_mb": memory_start, "rss_end_mb": rss_mb()}
    return result
