"""The live benchmark: the engine on a real device, with a loopback round-trip probe."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

import numpy as np

from ..engine.engine import Engine
from ..memory import memory_mb
from .harness import Settings, make_session, running_beside
from .stats import distribution, drift, rss_mb


class LoopbackProbe:
    """The callback body of the live benchmark: the engine equalizes a probe signal (the demo
    music at -30 dBFS peak, so the classifier has music to decide on, with a click every
    ``every`` frames) out to the device, and what comes back on the input is searched for the
    clicks. Every other click bypasses the engine, so the round trip with and without it can be
    compared: the difference is the latency the engine adds.

    The engine is fed the probe rather than the input, so a loopback cannot feed back.
    """

    def __init__(self, engine: Engine, block_size: int, every_blocks: int, threshold: float = 0.1) -> None:
        from ..demo import demo_clip

        channels, rate = engine.config.channels, engine.config.sample_rate
        self.engine = engine
        self.every = block_size * every_blocks
        music, _ = demo_clip(sample_rate=rate)
        loop = -(-len(music) // self.every) * self.every  # whole clicks' worth of music
        self.source = np.resize(music.mean(axis=1, keepdims=True), (loop, 1)).repeat(channels, axis=1)
        self.source *= 0.03 / np.abs(self.source).max()
        self.source[:: self.every] = 0.5
        self.scratch = np.zeros((block_size, channels), dtype=np.float32)
        self.threshold = threshold
        self.position = 0
        self.latencies = {True: np.zeros(4096, dtype=np.int64), False: np.zeros(4096, dtype=np.int64)}
        self.counts = {True: 0, False: 0}
        self._heard_click = -1

    def process(self, indata: np.ndarray, outdata: np.ndarray) -> None:
        frames = indata.shape[0]
        offset = self.position % self.source.shape[0]
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


def pass_through(indata: np.ndarray, outdata: np.ndarray) -> None:
    """The floor: a bare callback that copies input to output."""
    outdata[:] = indata


def _subject_entry(runs: list, period: float) -> dict:
    """One subject's rounds together: callbacks, xruns, callbacks over half the period, times."""
    durations = np.concatenate([stats.recent_durations() for stats in runs])
    return {"callbacks": sum(stats.count for stats in runs), "xruns": sum(stats.xruns for stats in runs),
            "xruns_by_round": [stats.xruns for stats in runs],
            "callbacks_over_half_period": sum(stats.slow_callbacks for stats in runs),
            "callback": distribution(durations, period)}


def measure_live(device: str, settings: Settings, block_size: int, classes: tuple[str, ...] | None,
                 progress: Callable[[str], None], jack_loopback: bool = False, raw: dict | None = None,
                 plugins: Sequence[str] = (), rounds: int = 1) -> dict:
    """The engine (with ``plugins`` after its EQ) on a real device: callback times, xruns,
    callbacks over half the period, memory, and the round trip through a loopback compared with
    the device's reported latency and the engine's own.

    In the same sitting, alternating with it in ``rounds`` rounds (each subject
    ``settings.seconds / rounds`` per round, the order rotating), a pass-through callback (the
    floor: what the machine and the audio server cost) and, with a classifier (the model in
    ``settings.weights``, of these ``classes``), the engine with its process stopped: so machine
    noise, the engine's cost and the classifier's are told apart. This process never loads the
    model: its memory is the product's."""
    from ..io import devices, streams
    from ..io.atomic import AudioError

    parsed = devices.parse_device(device)
    name = devices.resolve_device(parsed, "output")["name"]
    session = make_session(settings, block_size, automatic=classes is not None, plugins=plugins)
    engine = session.engine
    probe = LoopbackProbe(engine, block_size, every_blocks=max(1, round(0.25 * settings.sample_rate / block_size)))
    subjects = {"pass_through": pass_through, "engine": probe.process}
    if classes is not None:
        subjects["engine_classifier_stopped"] = probe.process
    runs: dict[str, list] = {subject: [] for subject in subjects}
    memory_start = rss_mb()
    memory, pss, classifier_use = [], [], [0.0, 0.0]  # its CPU and wall seconds while deciding
    seconds = settings.seconds / rounds

    def on_tick(stats) -> None:
        if jack_loopback and stats.count and not wired:  # the ports exist once the stream runs
            wired.append(wire_jack_loopback())
        if deciding:
            memory.append(rss_mb())
            if len(memory) % 10 == 1:
                pss.append(memory_mb()["pss_mb_all_processes"])

    with running_beside(session) as beside:
        for round_index in range(rounds):
            names = list(subjects)
            for subject in names[round_index % len(names):] + names[: round_index % len(names)]:
                deciding, wired = subject == "engine", []
                if beside is not None:
                    beside.pause(not deciding)
                progress(f"live on {name!r}, round {round_index + 1} of {rounds}: {subject} for {seconds:g} s")
                deadline = time.monotonic() + seconds
                cpu_before, wall_before = (beside.cpu_seconds() if beside is not None else 0.0), time.monotonic()
                stats = streams.run_live(engine, parsed, parsed, block_size, lambda: time.monotonic() >= deadline,
                                         on_tick=on_tick, process=subjects[subject])
                if stats.interrupted:  # the signal ended this turn; it ends the benchmark, not just the turn
                    raise KeyboardInterrupt
                if stats.error is not None:
                    raise AudioError(f"the audio stream failed: {stats.error}")
                runs[subject].append(stats)
                if deciding and beside is not None:
                    classifier_use[0] += beside.cpu_seconds() - cpu_before
                    classifier_use[1] += time.monotonic() - wall_before
        if beside is not None:
            beside.pause(False)
        classifier = beside.summary() if beside is not None else None
    if classifier is not None and classifier_use[1]:
        classifier["cpu_share_of_one_core_while_deciding"] = round(classifier_use[0] / classifier_use[1], 4)
    period = block_size / settings.sample_rate
    durations = np.concatenate([stats.recent_durations() for stats in runs["engine"]])
    if raw is not None:
        raw["live"] = durations.copy()
        raw["pass_through"] = np.concatenate([stats.recent_durations() for stats in runs["pass_through"]])
    first = runs["engine"][0]
    engine_entry = _subject_entry(runs["engine"], period)
    return {"device": name, "block_size": block_size, "seconds": settings.seconds, "rounds": rounds,
            "callbacks": engine_entry["callbacks"], "xruns": engine_entry["xruns"],
            "callbacks_over_half_period": engine_entry["callbacks_over_half_period"],
            "first_xruns_at_s": [round(float(i) * period, 2) for i in first.first_xruns()[:8]],
            "callback": engine_entry["callback"],
            "subjects": {subject: _subject_entry(every, period) for subject, every in runs.items()},
            "p99_drift_us": drift(durations), "rss_start_mb": memory_start, "rss_end_mb": rss_mb(),
            "rss_mb_by_tenths": [float(part[-1]) for part in np.array_split(np.array(memory), 10) if len(part)],
            "pss_mb_all_processes": pss,
            "round_trip": {**probe.round_trip(first.reported_latency_s, settings.sample_rate),
                           "engine_reports_frames": engine.latency_frames},
            "classifier": classifier}
