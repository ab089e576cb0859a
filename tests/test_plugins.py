"""Third-party VST3 plugins around the EQ: real plugins from Debian's zam-plugins."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.plugins import PluginInsert, PluginSpec, parse_plugin_spec

from .conftest import run_cli, sine
from .synthetic import synthetic_clip

VST3 = Path("/usr/lib/vst3")
STEREO_COMPRESSOR = VST3 / "ZamCompX2.vst3"  # takes two channels
MONO_EQ = VST3 / "ZamEQ2.vst3"  # mono only
BOOST_1K = f"{MONO_EQ}:boost_cut_1_db=12,frequency_1_hz=1000,bandwidth_1=1"


@pytest.fixture(scope="module", autouse=True)
def zam_plugins():
    if not MONO_EQ.exists() or not STEREO_COMPRESSOR.exists():
        pytest.fail("zam-plugins is not installed: run the tests through tests/run.sh, which installs it")


def gain_db(processed: np.ndarray, original: np.ndarray) -> np.ndarray:
    half = len(original) // 2
    return 20 * np.log10(np.abs(processed[half:]).max(axis=0) / np.abs(original[half:]).max(axis=0))


def test_plugin_specs_parse():
    assert parse_plugin_spec("/x/A.vst3") == PluginSpec(Path("/x/A.vst3"))
    assert parse_plugin_spec("/x/A.vst3:gain=3, mode = on").parameters == {"gain": "3", "mode": "on"}
    assert parse_plugin_spec("C:/x/A.vst3").path == Path("C:/x/A.vst3")


def test_loading_a_plugin_leaves_this_threads_floating_point_as_it_was():
    """zam-plugins switch on flush-to-zero as they load: a subnormal then reads as zero."""
    smallest_normal = np.finfo(np.float64).tiny
    PluginInsert(parse_plugin_spec(BOOST_1K), 2, 48000, 1024)
    assert smallest_normal / 2 > 0.0


def test_a_mono_plugin_runs_per_channel_on_stereo():
    insert = PluginInsert(parse_plugin_spec(BOOST_1K), 2, 48000, 1024)
    assert len(insert.instances) == 2
    tone = sine(1000.0, 1.0, 48000)
    tone[:, 1] *= 0.5
    out = np.empty_like(tone)
    for start in range(0, len(tone), 256):
        insert.process(tone[start : start + 256], out[start : start + 256])
    np.testing.assert_allclose(gain_db(out, tone), [12.0, 12.0], atol=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("position", ["pre", "post"])
def test_plugins_in_the_offline_path(tmp_path, position):
    source, output, plain = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "plain.wav"
    tone = sine(1000.0, 2.0, 48000) * 0.25  # -24 dBFS: the +12 dB boost stays under the ceiling
    sf.write(str(source), tone, 48000, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "jazz", "--plugin", BOOST_1K,
                     "--plugin", f"{STEREO_COMPRESSOR}:threshold_db=0", "--plugin-position", position)
    assert result.returncode == 0, result.stderr
    assert run_cli("process", str(source), "-o", str(plain), "--genre", "jazz").returncode == 0
    with_plugins, _ = sf.read(str(output), dtype="float32")
    without, _ = sf.read(str(plain), dtype="float32")
    np.testing.assert_allclose(gain_db(with_plugins, without), [12.0, 12.0], atol=0.6)


def test_the_engine_places_plugins_before_or_after_its_analysis():
    tone = sine(1000.0, 1.0, 48000) * 0.25
    levels = {}
    for position in ("pre", "post"):
        insert = PluginInsert(parse_plugin_spec(BOOST_1K), 2, 48000, 1024)
        engine = Engine(EngineConfig(), genre="flat", **{f"{position}_plugins": [insert]})
        out = np.empty_like(tone)
        for start in range(0, len(tone), 256):
            engine.process(tone[start : start + 256], out[start : start + 256])
        snap = engine.snapshot()
        levels[position] = 10 * np.log10(snap.input_overall_ms.mean() / snap.output_overall_ms.mean())
    assert levels["pre"] == pytest.approx(0.0, abs=0.2)  # the analysis heard the boost
    assert levels["post"] == pytest.approx(-12.0, abs=0.5)  # the boost came after it


@pytest.mark.slow
def test_plugins_command_lists_parameters():
    result = run_cli("plugins", str(MONO_EQ))
    assert result.returncode == 0, result.stderr
    assert "boost_cut_1_db" in result.stdout and "range=(-50.0, 20.0" in result.stdout
    missing = run_cli("plugins", "/nowhere/Nothing.vst3")
    assert missing.returncode == 1 and missing.stdout == ""


@pytest.mark.parametrize("spec, message", [
    ("/nowhere/Nothing.vst3", "/nowhere/Nothing.vst3: no such plugin"),
    ("{tmp}/in.wav", "cannot load as a plugin: Failed to load plugin as VST3Plugin. Errors were: VST3Plugin: "
                     "Unable to scan plugin"),
    (f"{MONO_EQ}:no_such_knob=1", "no parameter 'no_such_knob'; it has: "),
    (f"{MONO_EQ}:boost_cut_1_db", "settings are name=value pairs"),
    (f"{MONO_EQ}:boost_cut_1_db=loud", "boost_cut_1_db=loud"),
])
def test_bad_plugins_get_one_line(tmp_path, spec, message):
    sf.write(str(tmp_path / "in.wav"), sine(440.0, 0.5, 44100), 44100)
    result = run_cli("process", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o.wav"), "--genre", "flat",
                     "--plugin", spec.format(tmp=tmp_path))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("DPF warning")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not (tmp_path / "o.wav").exists()


def test_a_stereo_only_plugin_on_mono_is_refused(tmp_path):
    sf.write(str(tmp_path / "mono.wav"), sine(440.0, 0.5, 44100, channels=1), 44100)
    result = run_cli("process", str(tmp_path / "mono.wav"), "-o", str(tmp_path / "o.wav"), "--genre", "flat",
                     "--plugin", str(STEREO_COMPRESSOR))
    assert result.returncode == 1 and "takes neither 1 channel(s) nor one" in result.stderr


LOOK_AHEAD = VST3 / "ZaMaximX2.vst3"  # a limiter with look-ahead: it reports latency


@pytest.mark.slow
def test_a_plugin_with_latency_is_compensated_offline(tmp_path):
    """The output lines up with the input sample for sample and keeps its length."""
    rate = 48000
    rng = np.random.default_rng(4)
    audio = np.zeros((rate * 2 + 1234, 2), np.float32)
    for start in (5000, 40000, 70000):  # quiet noise bursts: the limiter leaves them be
        audio[start : start + 2000] = rng.normal(scale=0.02, size=(2000, 2))
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(source), audio, rate, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "flat", "--plugin", str(LOOK_AHEAD))
    assert result.returncode == 0, result.stderr
    assert "latency frames: 552 (plugins 480, limiter look-ahead 72; compensated offline)" in result.stdout
    out, _ = sf.read(str(output), dtype="float32", always_2d=True)
    assert out.shape == audio.shape
    correlation = np.correlate(out[:, 0], audio[:, 0], mode="full")
    assert int(np.argmax(correlation)) - (len(audio) - 1) == 0  # no lag


@pytest.mark.parametrize("block", [64, 256, 1000, pytest.param(4096, marks=pytest.mark.slow)])
def test_a_plugin_that_returns_fewer_frames_keeps_every_block_whole(block):
    insert = PluginInsert(parse_plugin_spec(str(LOOK_AHEAD)), 2, 48000, 4096)
    x = np.random.default_rng(1).normal(scale=0.02, size=(block * 40, 2)).astype(np.float32)
    out = np.empty_like(x)
    for start in range(0, len(x), block):
        insert.process(x[start : start + block], out[start : start + block])
    assert insert.latency == 480
    lag = int(np.argmax(np.correlate(out[:, 0], x[:, 0], mode="full"))) - (len(x) - 1)
    assert lag == 480  # live: the stream is delayed by exactly the plugin's latency


# ZamVerb runs too, but pedalboard takes 70-140 s to load it on a 2-core machine (its
# convolution reloads its impulse for every layout the host probes): run by hand, not in CI.
SLOW_TO_LOAD = {"ZamVerb"}


@pytest.mark.parametrize("plugin", [p for p in sorted(VST3.glob("*.vst3")) if p.stem not in SLOW_TO_LOAD],
                         ids=lambda path: path.stem)
def test_every_zam_plugin_runs_offline_and_at_live_block_sizes(plugin):
    """Debian's zam-plugins: offline (the file path, large blocks, latency compensated) and
    at a device's 256-frame blocks: whole blocks, finite output, under the ceiling."""
    from inteleq_rt.session import render_blocks

    rate, ceiling = 48000, 10 ** (-1 / 20)
    audio = synthetic_clip("rock", 1.5, rate, 3)
    for block in (4096, 256):
        insert = PluginInsert(parse_plugin_spec(str(plugin)), 2, rate, 8192)
        engine = Engine(EngineConfig(), genre="rock_pop", post_plugins=[insert])
        if block == 4096:
            out = np.concatenate([result.copy() for result in render_blocks(
                engine, (audio[start : start + block] for start in range(0, len(audio), block)))])
            assert out.shape == audio.shape
        else:
            out = np.empty((len(audio) // block * block, 2), np.float32)
            for start in range(0, len(out), block):
                engine.process(audio[start : start + block], out[start : start + block])
        assert np.all(np.isfinite(out)) and np.abs(out).max() <= ceiling
