"""Bad input and faults: what a user can throw at the engine and the `process` command."""

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.front import INPUT_LIMIT, as_heard
from inteleq_rt.engine.levels import feature_vector

from .conftest import REPO, run_cli, sine
from .test_cli_files import write_clip

GENRES = ["flat", "rock_pop", "classical", "country", "hiphop", "jazz", "disco"]


def one_line_error(result, message: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(["preset", "match"]),
       steps=st.lists(st.tuples(st.integers(16, 2048), st.sampled_from([0.0, 1e-6, 0.1, 1.0, 8.0]),
                                st.sampled_from(GENRES), st.floats(0.0, 1.0), st.booleans()),
                      min_size=1, max_size=25),
       seed=st.integers(0, 2**16))
def test_engine_output_stays_finite_and_bounded(mode, steps, seed):
    engine = Engine(EngineConfig(mode=mode, crossfade_s=0.05, max_block_size=2048))
    rng = np.random.default_rng(seed)
    loudest = 1e-3
    for frames, level, genre, amount, poison in steps:
        block = (level * rng.standard_normal((frames, 2))).astype(np.float32)
        if poison:  # a few NaN, Inf or absurd samples
            spots = rng.integers(0, frames, 3)
            block[spots, rng.integers(0, 2, 3)] = rng.choice([np.nan, np.inf, -np.inf, 1e30], 3)
        engine.request_genre(genre)
        engine.set_amount(amount)
        out = np.empty_like(block)
        engine.process(block, out)
        assert np.all(np.isfinite(out))
        # presets boost at most 6 dB a filter and match mode 6 dB a band; 30 dB over the
        # loudest input so far is far beyond any ringing of a stable chain, and far below
        # what an unstable one reaches
        heard = np.abs(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)).clip(max=INPUT_LIMIT)
        loudest = max(loudest, float(heard.max()))
        assert np.abs(out).max() <= 31.6 * loudest


def test_a_nan_is_heard_as_silence_and_the_stream_recovers():
    tone = sine(1000.0, 0.5, 48000)
    poisoned = tone.copy()
    poisoned[1000, 0], poisoned[3000, 1], poisoned[5000, 0] = np.nan, np.inf, 1e30
    zeroed = tone.copy()
    zeroed[1000, 0], zeroed[3000, 1], zeroed[5000, 0] = 0.0, 0.0, INPUT_LIMIT
    outputs, repaired = [], []
    for signal_in in (poisoned, zeroed):
        engine = Engine(EngineConfig(), genre="jazz")
        out = np.empty_like(signal_in)
        for start in range(0, len(signal_in), 256):
            engine.process(signal_in[start : start + 256], out[start : start + 256])
        outputs.append(out)
        repaired.append(engine.repaired_samples)
        snapshot = engine.snapshot()
        assert np.all(np.isfinite(feature_vector(snapshot.input_band_ms, snapshot.input_overall_ms)))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert repaired == [3, 0]


def test_a_file_block_is_heard_as_the_engine_hears_it_and_copied_only_when_repaired():
    clean = sine(1000.0, 0.1, 48000)
    assert as_heard(clean) is clean
    for bad in (np.nan, np.inf, -1e30):  # the meters beside the engine (the plan's, the render's) hear what it hears
        poisoned = clean.copy()
        poisoned[10, 1] = bad
        heard = as_heard(poisoned)
        assert np.array_equal(poisoned[10], [clean[10, 0], np.float32(bad)], equal_nan=True)  # the file's block left as it was
        expected = clean.copy()
        expected[10, 1] = -INPUT_LIMIT if bad == -1e30 else 0.0
        np.testing.assert_array_equal(heard, expected)


def test_process_repairs_and_reports_bad_samples(tmp_path):
    source, output, report = tmp_path / "bad.wav", tmp_path / "out.wav", tmp_path / "r.json"
    audio = sine(440.0, 1.0, 44100)
    audio[100:110] = np.nan
    audio[2000, 1] = np.inf
    sf.write(str(source), audio, 44100, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "rock_pop", "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert "21 input samples were NaN, infinite or beyond +90 dBFS" in result.stderr
    processed, _ = sf.read(str(output))
    assert np.all(np.isfinite(processed))
    assert json.loads(report.read_text())["summary"]["repaired_input_samples"] == 21


@pytest.mark.parametrize("kind", ["silence", pytest.param("dc", marks=pytest.mark.slow), pytest.param("full_scale_square", marks=pytest.mark.slow)])
def test_degenerate_signals_give_finite_levels_and_clean_output(tmp_path, kind):
    rate = 44100
    t = np.arange(rate * 2) / rate
    mono = {"silence": np.zeros_like(t), "dc": np.full_like(t, 0.5),
            "full_scale_square": np.sign(np.sin(2 * np.pi * 50 * t))}[kind]
    source, output, report = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "r.json"
    sf.write(str(source), np.stack([mono, mono], axis=1), rate, subtype="PCM_16")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "hiphop", "--report", str(report))
    assert result.returncode == 0, result.stderr
    entry = json.loads(report.read_text())["timeline"][-1]
    levels = entry["input_band_levels_db"] + entry["output_band_levels_db"]
    assert all(np.isfinite(levels)) and min(levels) >= -120.0
    processed, _ = sf.read(str(output))
    assert processed.shape == (2 * rate, 2)
    if kind == "silence":
        assert entry["input_overall_db"] == -120.0 and np.max(np.abs(processed)) < 1e-4
    if kind == "full_scale_square":  # hiphop's +4 dB shelf at 60 Hz would push a 50 Hz square over
        # the ceiling holds (to within the 16-bit dither's one step)
        assert "clipped samples: 0" in result.stdout and np.max(np.abs(processed)) <= 10 ** (-1 / 20) + 2 ** -15


@pytest.mark.slow
def test_multichannel_is_analysed_and_equalized_channel_by_channel(tmp_path):
    rate = 48000
    audio = np.concatenate([sine(40.0, 2.0, rate, channels=3), sine(5000.0, 2.0, rate, channels=3)], axis=1)
    source, output = tmp_path / "six.wav", tmp_path / "out.wav"
    sf.write(str(source), audio, rate, subtype="FLOAT")
    assert run_cli("process", str(source), "-o", str(output), "--genre", "hiphop", "--mode", "preset",
                   "--no-level-match").returncode == 0
    processed, _ = sf.read(str(output), dtype="float32")
    assert processed.shape == audio.shape
    gain_db = 20 * np.log10(np.abs(processed[rate:]).max(axis=0) / np.abs(audio[rate:]).max(axis=0))
    # the low shelf lifts the three 40 Hz channels, the others stay near unity gain
    assert np.all(gain_db[:3] > 3.0) and np.all(np.abs(gain_db[3:]) < 2.0)


@pytest.mark.parametrize("rate", [8000, pytest.param(11025, marks=pytest.mark.slow), pytest.param(96000, marks=pytest.mark.slow), pytest.param(192000, marks=pytest.mark.slow)])
def test_any_sample_rate_from_8_to_192_khz(tmp_path, rate):
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    write_clip(source, rate, 2, seconds=1.0)
    result = run_cli("process", str(source), "-o", str(output), "--genre", "disco")
    assert result.returncode == 0, result.stderr
    assert sf.info(str(output)).samplerate == rate and sf.info(str(output)).frames == rate
    processed, _ = sf.read(str(output))
    assert np.all(np.isfinite(processed)) and 0.01 < np.abs(processed).max() <= 1.0


@pytest.mark.slow
def test_empty_and_header_only_files_are_refused(tmp_path):
    sf.write(str(tmp_path / "empty.wav"), np.zeros((0, 2)), 44100)
    one_line_error(run_cli("process", str(tmp_path / "empty.wav"), "-o", str(tmp_path / "o.wav")),
                   "holds no audio frames")
    write_clip(tmp_path / "clip.wav", 44100, 2)
    (tmp_path / "header.wav").write_bytes((tmp_path / "clip.wav").read_bytes()[:30])
    one_line_error(run_cli("process", str(tmp_path / "header.wav"), "-o", str(tmp_path / "o.wav")),
                   "not a readable audio file")
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.slow
def test_truncated_files(tmp_path):
    # a WAV cut short plays what it holds (libsndfile reads the frames present)
    write_clip(tmp_path / "clip.wav", 44100, 2, seconds=2.0)
    whole = (tmp_path / "clip.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])
    assert run_cli("process", str(tmp_path / "cut.wav"), "-o", str(tmp_path / "o.wav")).returncode == 0
    assert sf.info(str(tmp_path / "o.wav")).frames == sf.info(str(tmp_path / "cut.wav")).frames
    # a FLAC cut short fails to decode part-way: what decodes is rendered, and where it stopped said
    write_clip(tmp_path / "clip.flac", 44100, 2, seconds=4.0)
    whole = (tmp_path / "clip.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(whole[: len(whole) // 2])
    cut = run_cli("process", str(tmp_path / "cut.flac"), "-o", str(tmp_path / "o2.wav"), "--genre", "jazz")
    assert cut.returncode == 0, cut.stderr
    stopped = re.search(r"decoding stopped at (\d+\.\d+) s of the 4\.00 s its header gives", cut.stderr)
    assert stopped and 0.5 < float(stopped.group(1)) < 3.5, cut.stderr
    assert sf.info(str(tmp_path / "o2.wav")).frames / 44100 == pytest.approx(float(stopped.group(1)), abs=0.005)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.flac", "clip.wav", "cut.flac", "cut.wav", "o.wav",
                                                          "o2.wav"]


@pytest.mark.slow
def test_a_full_disk_leaves_the_users_file_alone(tmp_path):
    """The file-size limit makes every write past 200 kB fail (EFBIG) as a full disk would.
    (Set by the shell, not preexec_fn: forking this process, where JAX runs threads, can deadlock.)"""
    source, output = tmp_path / "in.wav", tmp_path / "mine.wav"
    write_clip(source, 44100, 2, seconds=5.0)
    output.write_bytes(b"an earlier master")
    command = shlex.join([sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output), "--force"])
    result = subprocess.run(["bash", "-c", f"ulimit -f 200 && exec {command}"], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    one_line_error(result, "writing failed: the file-size limit (204800 bytes, `ulimit -f`) stopped it")
    assert output.read_bytes() == b"an earlier master"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "mine.wav"]


@pytest.mark.slow
def test_an_unwritable_place_is_refused_before_any_work(tmp_path):
    source = tmp_path / "in.wav"
    write_clip(source, 44100, 2, seconds=0.5)
    # /proc takes no new files, not even from root: the folder check must try, not trust access()
    one_line_error(run_cli("process", str(source), "-o", "/proc/out.wav"), "/proc/out.wav: cannot write in /proc")
    one_line_error(run_cli("process", str(source), "-o", str(tmp_path / "o.wav"), "--report", "/proc/r.json"),
                   "/proc/r.json: cannot write in /proc")
    one_line_error(run_cli("train", str(tmp_path), "-o", "/proc/weights"), "/proc/weights: cannot write in /proc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_a_read_only_filesystem_leaves_the_users_file_alone(tmp_path):
    """The folder is bind-mounted read-only in a private mount namespace (needs CAP_SYS_ADMIN,
    as root in CI); the render is refused up front and the earlier master survives."""
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --mount is not permitted here")
    source, output = tmp_path / "in.wav", tmp_path / "mine.wav"
    write_clip(source, 44100, 2, seconds=0.5)
    output.write_bytes(b"an earlier master")
    folder = shlex.quote(str(tmp_path))
    command = shlex.join([sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output), "--force"])
    result = subprocess.run(["unshare", "--mount", "bash", "-c",
                             f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec {command}"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    one_line_error(result, f"{output}: cannot write in {tmp_path}: Read-only file system")
    assert output.read_bytes() == b"an earlier master"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "mine.wav"]


@pytest.mark.slow
def test_a_really_full_disk_is_named_as_such(tmp_path):
    """A 1 MiB tmpfs in a private mount namespace (as root in CI): the render fills it."""
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --mount is not permitted here")
    source, disk = tmp_path / "in.wav", tmp_path / "disk"
    write_clip(source, 44100, 2, seconds=10.0)
    disk.mkdir()
    output = disk / "out.wav"
    command = shlex.join([sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output),
                          "--genre", "jazz"])
    result = subprocess.run(["unshare", "--mount", "bash", "-c",
                             f"mount -t tmpfs -o size=1m tmpfs {shlex.quote(str(disk))} && exec {command}"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    one_line_error(result, f"{output}: writing failed: no space left on the device")
    assert list(disk.iterdir()) == []  # the mount is gone with its namespace: nothing was left here either


# An interrupted run may also end killed by SIGINT after its clean-up and its message (seen 1 in
# 20 and 1 in 30 runs under load, never with the handlers' events logged; its cause is not found).
# A shell shows both as status 130, and either way nothing is left behind.
INTERRUPTED = (130, -signal.SIGINT)


@pytest.mark.slow
def test_ctrl_c_during_process_leaves_no_output(tmp_path):
    source, output = tmp_path / "long.wav", tmp_path / "out.wav"
    rate = 48000
    noise = np.random.default_rng(0).standard_normal((rate * 240, 2)).astype(np.float32) * 0.1
    sf.write(str(source), noise, rate, subtype="PCM_16")
    job = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output),
                            "--genre", "jazz"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.wav.*.partial*")):  # the render has begun
        assert job.poll() is None and time.monotonic() < deadline, job.stderr.read()
        time.sleep(0.01)
    job.send_signal(signal.SIGINT)
    _, stderr = job.communicate(timeout=30)
    assert job.returncode in INTERRUPTED, stderr
    assert "interrupted; no output was left behind" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]


def _interrupt_at(source, output, after_s: float, signal_number: int) -> tuple[int, float, str]:
    job = subprocess.Popen([sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output)],
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    job.send_signal(signal_number)
    sent = time.monotonic()
    _, stderr = job.communicate(timeout=120)
    return job.returncode, time.monotonic() - sent, stderr


# Through start-up (imports, JAX's first garbage collections, the model's load) into the render.
EARLY = [0.3, 0.9, 1.1, 1.4]
EVERY_MOMENT = [round(0.1 + 0.15 * k, 2) for k in range(20)]


@pytest.mark.parametrize("moments", [pytest.param(EARLY, id="early"),
                                     pytest.param(EVERY_MOMENT, id="every-moment",
                                                  marks=[pytest.mark.slow, pytest.mark.stress])])
@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_process_stops_it(tmp_path, moments):
    """A Ctrl+C that landed in a garbage-collector callback (JAX's) was lost, and the whole file
    rendered: every moment of start-up is tried, with SIGINT and SIGTERM in turn."""
    source, output = tmp_path / "long.wav", tmp_path / "out.wav"
    rate = 22050
    sf.write(str(source), sine(220, 600.0, rate, channels=1), rate, subtype="PCM_16")
    for number, after_s in enumerate(moments):
        chosen = (signal.SIGINT, signal.SIGTERM)[number % 2]
        code, took, stderr = _interrupt_at(source, output, after_s, chosen)
        assert code in INTERRUPTED and "interrupted; no output was left behind" in stderr, (after_s, code, stderr)
        assert "Traceback" not in stderr and "ignored" not in stderr, stderr
        assert took < 3.0, (after_s, took)  # within a second measured here; a loaded CI core is slower
        assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]


@pytest.mark.slow
@pytest.mark.stress
def test_an_interrupt_at_the_end_of_a_render_never_reports_a_complete_output_as_interrupted(tmp_path):
    """Signals across the moment the output is renamed into place: each run either finished
    (exit 0, the output whole) or was interrupted (exit 130, no output), never both."""
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    rate = 22050
    sf.write(str(source), sine(220, 300.0, rate, channels=1), rate, subtype="PCM_16")
    command = [sys.executable, "-m", "inteleq_rt", "process", str(source), "-o", str(output), "--genre", "jazz",
               "--force"]
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    whole_s = time.monotonic() - started
    outcomes = set()
    for step in range(20):
        output.unlink(missing_ok=True)
        job = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # the rename comes 0.15-0.3 s before the exit here; 0.9 s before the first run's end to
        # just after it (a run's length wanders by a few tenths: 16 steps ending 50 ms short of
        # it once all landed before the rename)
        time.sleep(whole_s - 0.9 + 0.05 * step)
        job.send_signal(signal.SIGINT)
        stdout, stderr = job.communicate(timeout=60)
        if job.returncode == 0:
            assert sf.info(str(output)).frames == 300 * rate and "wrote" in stdout
        else:
            assert job.returncode in INTERRUPTED and not output.exists(), (job.returncode, stderr)
        assert "Traceback" not in stderr
        assert not list(tmp_path.glob(".*partial*"))
        outcomes.add(job.returncode == 0)
    assert outcomes == {True, False}  # the signals did land on both sides of the rename


@pytest.mark.slow
def test_a_pipe_a_device_and_text_named_mp3_get_one_line_each(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "notes.mp3").write_text("hello, not audio\n" * 20)
    for path, message in ((tmp_path / "pipe.wav", "not a regular file (a pipe or a device)"),
                          (Path("/dev/zero"), "not a regular file (a pipe or a device)"),
                          (tmp_path / "notes.mp3", "its contents are no audio format libsndfile knows")):
        one_line_error(run_cli("process", str(path), "-o", str(tmp_path / "o.wav"), "--genre", "jazz"), message)
