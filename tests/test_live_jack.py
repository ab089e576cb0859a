"""The device path against a real audio server: JACK with its dummy backend.

A JACK client in the test process plays a known tone into the engine's capture ports and
records its playback ports, so what comes back is compared with the engine's own offline
response to the same tone.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jack
import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.genre.process import SEGMENT_PREFIX

from inteleq_rt.bench.jack import JackServer

from .conftest import JACK_RATE, REPO, run_cli, sine
from .synthetic import synthetic_clip

TONE_HZ = 30.0  # under hiphop's +4 dB low shelf at 60 Hz
AMPLITUDE = 0.25


class ToneLoop:
    """Plays a signal (by default a tone) on two outputs, looped, records two inputs into a
    ring, and notes when JACK reports an xrun (a glitch no steady-state level can survive)."""

    def __init__(self, server: str, seconds: float = 4.0, loop: np.ndarray | None = None) -> None:
        self.client = jack.Client("inteleq-tester", servername=server)
        self.outs = [self.client.outports.register(f"out_{i}") for i in range(2)]
        self.ins = [self.client.inports.register(f"in_{i}") for i in range(2)]
        self.recorded = np.zeros((int(seconds * JACK_RATE), 2), np.float32)
        self.position = 0
        self.loop = sine(TONE_HZ, 1.0, JACK_RATE, amplitude=AMPLITUDE) if loop is None else loop
        self.phase = 0
        self.last_xrun = time.monotonic()  # start-up counts as a glitch too
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)

    def _process(self, frames: int) -> None:
        n = np.arange(self.phase, self.phase + frames) % len(self.loop)
        self.phase += frames
        for c, port in enumerate(self.outs):
            port.get_array()[:] = self.loop[n, c]
        slots = np.arange(self.position, self.position + frames) % len(self.recorded)
        for c, port in enumerate(self.ins):
            self.recorded[slots, c] = port.get_array()
        self.position += frames

    def _xrun(self, _delayed_usecs: float) -> None:
        self.last_xrun = time.monotonic()

    def wait_for_steady_state(self, settle_s: float = 2.0, timeout: float = 30.0) -> None:
        """Until ``settle_s`` (a second to measure and the filters' ringing) has passed with no xrun."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_xrun < settle_s:
            assert time.monotonic() < deadline, f"JACK kept reporting xruns for {timeout:g} s: machine too busy"
            time.sleep(0.05)

    def last_second(self) -> np.ndarray:
        slots = np.arange(self.position - JACK_RATE, self.position) % len(self.recorded)
        return self.recorded[slots]


def wait_for_ports(client: jack.Client, pattern: str, count: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [p.name for p in client.get_ports(pattern)]
        if len(names) >= count:
            return sorted(names)
        time.sleep(0.1)
    raise AssertionError(f"no JACK ports matching {pattern!r} appeared")


def expected_gain(genre: str) -> float:
    """The tone's gain through the same engine run offline."""
    engine = Engine(EngineConfig(sample_rate=JACK_RATE, level_match=False), genre=genre)
    audio = sine(TONE_HZ, 2.0, JACK_RATE, amplitude=AMPLITUDE)
    out = np.empty_like(audio)
    for start in range(0, len(audio), 256):
        engine.process(audio[start : start + 256], out[start : start + 256])
    return float(np.max(np.abs(out[JACK_RATE:, 0])) / AMPLITUDE)


def run_live(jack_server, tester: ToneLoop, seconds: float, *args: str) -> tuple[np.ndarray, str, str]:
    """Live monitoring fed by the tester for ``seconds``, and on until a second has passed with
    no xrun; then SIGINT while the signal still plays (the run's last report entry hears it).
    Returns the last second received, stdout and stderr."""
    engine = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "--device", "system, JACK", *args],
                              env=jack_server.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        with tester.client:
            engine_in = wait_for_ports(tester.client, "PortAudio.*:in_", 2)
            engine_out = wait_for_ports(tester.client, "PortAudio.*:out_", 2)
            for port in engine_in:
                for source in tester.client.get_all_connections(port):
                    tester.client.disconnect(source, port)
            for out, engine_port in zip(tester.outs, engine_in):
                tester.client.connect(out, engine_port)
            for engine_port, into in zip(engine_out, tester.ins):
                tester.client.connect(engine_port, into)
            time.sleep(seconds)
            tester.wait_for_steady_state()
            received = tester.last_second()
            engine.send_signal(signal.SIGINT)
            stdout, stderr = engine.communicate(timeout=20)
    finally:
        if engine.poll() is None:
            engine.send_signal(signal.SIGINT)
            stdout, stderr = engine.communicate(timeout=20)
    assert engine.returncode == 0, stderr
    return received, stdout, stderr


def test_live_monitoring_processes_a_known_signal_and_stops_on_sigint(jack_server, tmp_path):
    report = tmp_path / "live.json"
    received, stdout, _ = run_live(jack_server, ToneLoop(jack_server.name), 3.0, "--genre", "hiphop",
                                   "--mode", "preset", "--no-level-match", "--report", str(report))
    gain = np.max(np.abs(received), axis=0) / AMPLITUDE
    expected = expected_gain("hiphop")
    assert 20 * np.log10(expected) > 3.0  # the EQ really acts on this tone
    np.testing.assert_allclose(20 * np.log10(gain), 20 * np.log10(expected), atol=0.1)

    assert "stopped" in stdout and "xruns:" in stdout and "genre timeline: " in stdout
    assert "hiphop" in stdout.split("genre timeline: ")[1]
    document = json.loads(report.read_text())
    assert document["summary"]["blocks"] > 300
    last = document["timeline"][-1]
    assert last["genre"] == "hiphop"
    assert last["input_overall_db"] == pytest.approx(20 * np.log10(AMPLITUDE / np.sqrt(2)), abs=0.5)


@pytest.mark.slow
def test_device_listing_and_selection_by_name(jack_server):
    listing = run_cli("--list-devices", env=jack_server.env)
    assert listing.returncode == 0 and "system, JACK Audio Connection Kit" in listing.stdout
    missing = run_cli("--device", "system, ALSA-nothing", "--duration", "1", env=jack_server.env)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    off_rate = run_cli("--device", "system, JACK", "-r", "44100", "--duration", "1", env=jack_server.env)
    assert off_rate.returncode == 1 and off_rate.stderr.strip().splitlines() == [
        "inteleq-rt: error: 'system' / 'system' cannot run at 44100 Hz; leave out --samplerate to use their 48000 Hz"]
    # PortAudio lists every JACK client with ports as a device: "JACK" now names two
    with jack.Client("second-client", servername=jack_server.name) as client:
        client.inports.register("in_0")
        ambiguous = run_cli("--device", "JACK", "--duration", "1", env=jack_server.env)
    [line] = ambiguous.stderr.strip().splitlines()
    assert ambiguous.returncode == 1 and re.fullmatch(
        r"inteleq-rt: error: (input|output) device 'JACK' is ambiguous: it matches \[\d+\] system, JACK Audio "
        r"Connection Kit, \[\d+\] second-client, JACK Audio Connection Kit; give an index or more of the name",
        line), line


@pytest.mark.slow
def test_realtime_file_playback_matches_offline_render(jack_server, tmp_path):
    source = tmp_path / "tone.wav"
    audio = sine(440.0, 1.5, JACK_RATE) + sine(60.0, 1.5, JACK_RATE)
    sf.write(str(source), audio, JACK_RATE, subtype="FLOAT")
    live, offline = tmp_path / "live.wav", tmp_path / "offline.wav"
    result = run_cli("process", str(source), "--realtime", "--device", "system, JACK", "-o", str(live),
                     "--genre", "disco", "--mode", "preset", "--no-level-match", env=jack_server.env)
    assert result.returncode == 0, result.stderr
    assert "played" in result.stdout
    assert run_cli("process", str(source), "-o", str(offline), "--genre", "disco", "--mode", "preset",
                   "--no-level-match", "--follow").returncode == 0
    played, _ = sf.read(str(live), dtype="float32")
    rendered, _ = sf.read(str(offline), dtype="float32")
    assert played.shape == rendered.shape == audio.shape
    np.testing.assert_allclose(played, rendered, atol=1e-5)


@pytest.mark.slow
def test_live_automatic_mode_recognizes_the_music(jack_server, trained, tmp_path):
    _, weights, _ = trained
    report = tmp_path / "auto.json"
    music = synthetic_clip("hiphop", 8.0, JACK_RATE, seed=11)
    # 9 s: the classifier's process (idle priority) starts, hears 3 s, then decides every second
    _, stdout, _ = run_live(jack_server, ToneLoop(jack_server.name, loop=music), 9.0,
                            "--weights", str(weights), "--report", str(report))
    assert "hiphop" in stdout.split("genre timeline: ")[1]
    document = json.loads(report.read_text())
    summary = document["summary"]
    assert summary["decisions"] >= 2, summary
    # audio flowed before the classifier (its own process) was ready, and both are timed from
    # the start; the memory counts that process too
    assert 0 < summary["first_block_after_start_s"] < summary["classifier_ready_after_start_s"] < 9
    assert summary["memory"]["processes"] >= 2 and summary["memory"]["pss_mb_all_processes"] > summary["memory"]["rss_mb"] / 2
    decided = [entry for entry in document["timeline"] if "probabilities" in entry]
    assert decided and decided[-1]["genre"] == "hiphop"
    assert max(decided[-1]["probabilities"], key=decided[-1]["probabilities"].get) == "hiphop"


def harsh_noise(seconds: float, seed: int = 5) -> np.ndarray:
    """Noise falling 3 dB an octave, with everything above 3 kHz 15.6 dB too loud: far over
    any genre's range in the highs."""
    frames = int(seconds * JACK_RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(frames))
    frequencies = np.fft.rfftfreq(frames, 1 / JACK_RATE)
    shaped = np.fft.irfft(spectrum / np.sqrt(np.maximum(frequencies, 20.0)) * (1 + 5 * (frequencies > 3000)), frames)
    mono = (0.3 * shaped / np.max(np.abs(shaped))).astype(np.float32)
    return np.stack([mono, mono], axis=1)


@pytest.mark.slow
def test_live_range_mode_cuts_what_lies_over_the_range_as_offline_does(jack_server, tmp_path):
    from inteleq_rt.engine.curve_eq import LAYOUT
    from inteleq_rt.tonal.rule import Limits, range_correction
    from inteleq_rt.tonal.spectrum import LongTermSpectrum
    from inteleq_rt.tonal.targets import ranges_in

    music = harsh_noise(4.0)
    spectrum = LongTermSpectrum(JACK_RATE)
    spectrum.add(music)
    balance = spectrum.balance_db()
    offline = Limits().fit(range_correction(balance, ranges_in(None)["rock_pop"]), balance)
    assert offline[LAYOUT.index(("peak", 8000.0))] < -3.0  # the 8 kHz peak has real work to do
    report = tmp_path / "range.json"
    # the follower's process starts, hears 5 s of music, then posts; gains ramp at 12 dB/s
    run_live(jack_server, ToneLoop(jack_server.name, loop=music), 10.0, "--genre", "rock_pop",
             "--mode", "range", "--report", str(report))
    document = json.loads(report.read_text())
    first, last = document["timeline"][0], document["timeline"][-1]
    assert [f["frequency_hz"] for f in last["eq"]] == [frequency for _, frequency in LAYOUT]
    assert all(f["gain_db"] == 0.0 for f in first["eq"])  # nothing moves before it has listened
    live = np.array([f["gain_db"] for f in last["eq"]])
    np.testing.assert_allclose(live, offline, atol=0.5)  # the same rule on the same measurement
    assert document["summary"]["range_follower"] == "own process"


def test_stream_stats_count_xruns_and_say_when():
    # Flags as PortAudio reports them; sounddevice itself stays out of this process, whose
    # PortAudio would outlive the test JACK server and abort at exit.
    from types import SimpleNamespace

    from inteleq_rt.io.streams import StreamStats

    stats = StreamStats(capacity=8)
    both = SimpleNamespace(input_overflow=True, output_underflow=True)
    none = SimpleNamespace(input_overflow=False, output_underflow=False)
    stats.slow_s = 16.5e-6
    for index in range(20):
        stats.record(both if index in (3, 15) else none, seconds=index * 1e-6)
    assert stats.xruns == 4 and stats.input_overflows == stats.output_underflows == 2
    assert stats.slow_callbacks == 3  # 17, 18 and 19 us
    assert list(stats.first_xruns()) == [3, 15]
    np.testing.assert_allclose(stats.recent_durations(last=3), [17e-6, 18e-6, 19e-6])


@pytest.mark.slow
@pytest.mark.parametrize("plugin, added", [(None, 72), ("/usr/lib/vst3/ZaMaximX2.vst3", 72 + 480)])
def test_live_bench_measures_the_round_trip_through_a_jack_loopback(jack_server, tmp_path, plugin, added):
    """IIR EQ: the limiter's 1.5 ms look-ahead is all the engine adds to what the server
    buffers, and a plugin with look-ahead (ZaMaximX2) adds what it reports."""
    out = tmp_path / "live.json"
    result = run_cli("bench", "--device", "system, JACK", "--live-only", "--jack-loopback", "--seconds", "3",
                     "--json", str(out), *(["--plugin", plugin] if plugin else []), env=jack_server.env)
    assert result.returncode == 0, result.stderr
    live = json.loads(out.read_text())["live"]
    trip = live["round_trip"]
    assert trip["added_by_engine_frames"] == trip["engine_reports_frames"] == added and trip["clicks_heard"] >= 6
    assert trip["direct_frames"] == trip["reported_frames"]
    assert live["callbacks"] > 400 and live["callback"]["p50_us"] > 0
    assert "round trip through the loopback" in result.stdout
    # the floor ran in the same sitting, and the engine with its classifier stopped
    subjects = live["subjects"]
    assert set(subjects) == {"pass_through", "engine", "engine_classifier_stopped"}
    assert all(entry["callbacks"] > 400 for entry in subjects.values())
    assert subjects["pass_through"]["callback"]["p50_us"] < subjects["engine"]["callback"]["p50_us"]
    assert live["classifier"]["cpu_share_of_one_core_while_deciding"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("command", ["monitor", "play"])
def test_a_vanished_device_ends_the_run_with_what_was_done_kept(tmp_path, command):
    """The audio server dies mid-stream: one-line error, non-zero exit, report (and the
    played part of the file) kept; no hang, no abort inside PortAudio."""
    server = JackServer(f"inteleq-doomed-{command}-{os.getpid()}")
    report, played = tmp_path / "report.json", tmp_path / "played.wav"
    if command == "monitor":
        args = ["--device", "system, JACK", "--genre", "jazz"]
    else:
        source = tmp_path / "long.wav"
        sf.write(str(source), sine(220.0, 30.0, JACK_RATE), JACK_RATE, subtype="FLOAT")
        args = ["process", str(source), "--realtime", "--device", "system, JACK", "-o", str(played)]
    engine = subprocess.Popen([sys.executable, "-m", "inteleq_rt", *args, "--report", str(report)],
                              env=server.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not any(port.startswith("PortAudio") for port in server.ports()):
            assert time.monotonic() < deadline and engine.poll() is None, engine.stderr.read()
            time.sleep(0.1)
        time.sleep(1.5)
        server.crash()
        stdout, stderr = engine.communicate(timeout=30)
    finally:
        engine.kill()
        server.stop()
        server.release_registry_slot()
    assert engine.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1].endswith("the device stopped calling back: disconnected, "
                                                    "or its audio server stopped")
    assert "Assertion" not in stderr and "Traceback" not in stderr
    assert not list(Path("/dev/shm").glob(f"*{server.name}*"))  # nothing of the dead server's left
    summary = json.loads(report.read_text())["summary"]
    assert "stopped calling back" in summary["stopped_by_error"]
    if command == "play":
        frames = sf.info(str(played)).frames
        assert JACK_RATE < frames < 30 * JACK_RATE


@pytest.mark.slow
def test_live_monitoring_runs_a_real_vst3_plugin(jack_server):
    from inteleq_rt.engine.plugins import PluginInsert, parse_plugin_spec

    spec = "/usr/lib/vst3/ZamEQ2.vst3:boost_cut_1_db=6,frequency_1_hz=30,bandwidth_1=2"  # mono: one per channel
    engine = Engine(EngineConfig(sample_rate=JACK_RATE), genre="flat",
                    post_plugins=[PluginInsert(parse_plugin_spec(spec), 2, JACK_RATE, 1024)])
    audio = sine(TONE_HZ, 2.0, JACK_RATE, amplitude=AMPLITUDE)
    out = np.empty_like(audio)
    for start in range(0, len(audio), 256):
        engine.process(audio[start : start + 256], out[start : start + 256])
    expected = float(np.max(np.abs(out[JACK_RATE:, 0])) / AMPLITUDE)
    assert expected > 1.5  # the plugin boosts the tone
    received, stdout, _ = run_live(jack_server, ToneLoop(jack_server.name), 3.0, "--genre", "flat", "--plugin", spec)
    assert "stopped" in stdout
    np.testing.assert_allclose(np.max(np.abs(received), axis=0) / AMPLITUDE, [expected, expected], rtol=0.02)


def _segments_of(pid: int) -> list[Path]:
    """The classifier's shared memory that process ``pid`` made (other tests' runs, in other
    workers, make theirs beside it)."""
    return list(Path("/dev/shm").glob(f"{SEGMENT_PREFIX}{pid}-*"))


@pytest.mark.slow
def test_a_closed_terminal_leaves_no_shared_memory(jack_server, trained):
    """SIGHUP to the whole process group, as a closing terminal sends it (multiprocessing's
    resource tracker, which would otherwise remove the block, dies of it too)."""
    _, weights, _ = trained
    live = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "--device", "system, JACK", "--weights",
                             str(weights)], env=jack_server.env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _segments_of(live.pid):  # the classifier's block is there
        assert live.poll() is None and time.monotonic() < deadline, live.stderr.read()
        time.sleep(0.05)
    time.sleep(1.0)
    os.killpg(live.pid, signal.SIGHUP)
    _, stderr = live.communicate(timeout=30)
    assert "Traceback" not in stderr
    time.sleep(0.5)
    assert not _segments_of(live.pid)


@pytest.mark.slow
def test_the_live_benchmark_stopped_by_sigterm_mid_turn_stops_at_once_with_its_jackd(tmp_path):
    import psutil

    # three 60 s turns: a signal that ended only the turn it landed in would leave 120 s to run
    bench = subprocess.Popen([sys.executable, str(REPO / "benchmarks" / "live_jack.py"), "--seconds", "180",
                              "--rounds", "1", "--out", str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    servers: list = []
    try:
        for line in bench.stderr:  # the first turn's stream is starting
            if "round 1 of 1" in line:
                break
        servers = [p for p in psutil.Process(bench.pid).children() if p.name() == "jackd"]
        assert servers
        time.sleep(2.0)
        bench.send_signal(signal.SIGTERM)
        _, stderr = bench.communicate(timeout=30)
    finally:  # a benchmark that went on is killed, and its jackd (its classifier follows its parent)
        if bench.poll() is None:
            servers = [p for p in psutil.Process(bench.pid).children() if p.name() == "jackd"]
            bench.kill()
            bench.wait()
            for server in servers:
                server.kill()
    assert bench.returncode == 130, stderr
    assert "Traceback" not in stderr
    _, alive = psutil.wait_procs(servers, timeout=10)
    assert not alive


@pytest.mark.parametrize("moments", [pytest.param([0.1, 0.6], id="two", marks=pytest.mark.slow),
                                     pytest.param([0.05 * k for k in range(1, 21)], id="twenty",
                                                  marks=[pytest.mark.slow, pytest.mark.stress])])
def test_sigterm_at_any_moment_of_a_live_run_ends_with_its_summary(jack_server, moments):
    for after_s in moments:
        live = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "--device", "system, JACK", "--genre", "jazz"],
                                env=jack_server.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert "monitoring" in live.stderr.readline()  # the stream is starting
        time.sleep(after_s)
        live.send_signal(signal.SIGTERM)
        stdout, stderr = live.communicate(timeout=30)
        assert live.returncode == 0 and "stopped" in stdout and "xruns:" in stdout, (after_s, stdout, stderr)
