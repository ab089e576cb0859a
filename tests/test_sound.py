"""Sound you can trust: BS.1770 loudness (checked against pyloudnorm), level matching, the
limiter's ceiling, clicks, dither, and whole-track renders through the real command."""

import json

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.limiter import Limiter
from inteleq_rt.engine.loudness import IntegratedLoudness
from inteleq_rt.io.files import Quantizer

from .conftest import run_cli, sine
from .conftest import worst_out_of_band_db as out_of_band
from .synthetic import synthetic_clip

RATE = 48_000
BLOCK = 256
CEILING = 10 ** (-1 / 20)


def loudness(audio: np.ndarray, rate: int = RATE) -> float:
    return pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))


def music(seconds: float = 12.0, rate: int = RATE, peak_db: float = -0.1) -> np.ndarray:
    """Two synthesized genres back to back, normalized to ``peak_db`` as a loud master is."""
    half = seconds / 2
    audio = np.concatenate([synthetic_clip("hiphop", half, rate, 1), synthetic_clip("jazz", half, rate, 2)])
    return (audio / np.abs(audio).max() * 10 ** (peak_db / 20)).astype(np.float32)


def run(engine: Engine, audio: np.ndarray, events: dict | None = None, watch=None) -> np.ndarray:
    """The engine's output, lined up with its input (its latency dropped); ``events[block]``
    runs before that block, ``watch`` after every block."""
    out = np.zeros_like(audio)
    for index, start in enumerate(range(0, len(audio) - BLOCK + 1, BLOCK)):
        if events and index in events:
            events[index](engine)
        engine.process(audio[start : start + BLOCK], out[start : start + BLOCK])
        if watch is not None:
            watch(engine)
    late = engine.latency_frames
    return out[late : len(audio) // BLOCK * BLOCK]


@pytest.mark.parametrize("rate", [44100, 48000])
def test_integrated_loudness_agrees_with_pyloudnorm(rate):
    rng = np.random.default_rng(1)
    audio = music(8.0, rate, peak_db=-6.0) + rng.normal(scale=0.01, size=(8 * rate, 2)).astype(np.float32)
    audio[2 * rate : 3 * rate] *= 0.001  # a quiet passage, for the gates
    meter = IntegratedLoudness(rate, 2)
    for start in range(0, len(audio), 1000):  # blocks that do not line up with its 100 ms steps
        meter.add(audio[start : start + 1000])
    # pyloudnorm's K-weighting is the standard's shape with rounded constants: 0.1 LU apart at most
    assert meter.lufs() == pytest.approx(loudness(audio, rate), abs=0.1)


def test_a_full_scale_1khz_sine_reads_minus_3_lufs():
    meter = IntegratedLoudness(RATE, 1)
    meter.add(sine(1000.0, 2.0, RATE, channels=1, amplitude=1.0))
    assert meter.lufs() == pytest.approx(-3.01, abs=0.02)


@pytest.mark.parametrize("block", [1, 64, 4096])
def test_the_limiter_holds_its_ceiling_and_is_late_by_its_look_ahead(block):
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((RATE, 2)) * 0.05).astype(np.float32)
    audio[RATE // 2 : RATE // 2 + 3] = [[4.0, -4.0]] * 3  # a spike far over full scale
    audio[: RATE // 4] = 0.02 * np.sign(audio[: RATE // 4])  # quiet: must pass untouched
    limiter = Limiter(-1.0, RATE, 2)
    out = audio.copy()
    for start in range(0, len(out), block):
        limiter.process(out[start : start + block])
    assert np.abs(out).max() <= CEILING
    late = limiter.latency
    assert late == 72
    np.testing.assert_array_equal(out[late : RATE // 4], audio[: RATE // 4 - late])
    assert limiter.deepest_reduction_db == pytest.approx(20 * np.log10(4.0 / CEILING), abs=0.01)
    assert 0 < limiter.limited_blocks < limiter.blocks


@pytest.mark.slow
def test_level_matching_keeps_every_preset_as_loud_as_its_input():
    audio = music()
    for genre in ("hiphop", "rock_pop", "classical", "electronic"):
        for amount in (1.0, 0.5):
            matched = run(Engine(EngineConfig(amount=amount), genre=genre), audio)
            unmatched = run(Engine(EngineConfig(amount=amount, level_match=False), genre=genre), audio)
            reference = loudness(audio[: len(matched)])
            assert loudness(matched) - reference == pytest.approx(0.0, abs=0.5), (genre, amount)
            assert np.abs(matched).max() <= CEILING
            if genre in ("hiphop", "rock_pop") and amount == 1.0:  # their boosts add level
                assert loudness(unmatched) - reference > 0.6, genre


def test_level_matching_holds_its_gain_through_silence():
    """Between songs there is nothing to match: the gain stays where the music left it, and
    the hiss of the gap (-80 dBFS) does not pull it."""
    song = music(6.0)
    gap = (np.random.default_rng(3).standard_normal((3 * RATE, 2)) * 1e-4).astype(np.float32)
    engine = Engine(EngineConfig(), genre="rock_pop")
    gains = []
    run(engine, np.concatenate([song, gap, song]), watch=lambda e: gains.append(e.snapshot().level_gain_db))
    before_gap, end_of_gap = gains[6 * RATE // BLOCK - 1], gains[9 * RATE // BLOCK - 1]
    assert abs(before_gap) > 0.2  # the EQ changed the loudness, so there was a gain to hold
    assert end_of_gap == pytest.approx(before_gap, abs=0.01)


def test_level_gain_moves_and_bypass_toggles_do_not_click():
    """A 60 Hz tone under hiphop's low shelf: the genre switch and the amount change move the
    level-matching gain by over a dB, bypass crossfades in and out (once mid-fade)."""
    engine = Engine(EngineConfig(crossfade_s=0.5), genre="hiphop")
    second = RATE // BLOCK
    level_gains = []
    events = {second: lambda e: e.set_bypass(True), int(1.6 * second): lambda e: e.set_bypass(False),
              2 * second: lambda e: e.request_genre("classical"),
              3 * second: lambda e: e.set_amount(0.3), int(3.3 * second): lambda e: e.set_bypass(True),
              int(3.5 * second): lambda e: e.set_bypass(False)}  # back before the fade ended
    out = run(engine, sine(60.0, 5.0, RATE, amplitude=0.5), events,
              watch=lambda e: level_gains.append(e.snapshot().level_gain_db))
    settled = level_gains[second // 2 :]
    assert max(settled) - min(settled) > 1.0
    assert out_of_band(out[RATE // 2 :, 0].astype(np.float64), RATE, 60.0) < -60.0
    assert engine.snapshot().bypass == 0.0


def test_bypass_hears_the_dry_input_at_the_eq_s_loudness():
    audio = music(8.0, peak_db=-12.0)  # under the ceiling: the limiter stays out of it
    engine = Engine(EngineConfig(), genre="hiphop")
    out = run(engine, audio, {int(4 * RATE / BLOCK): lambda e: e.set_bypass(True)})
    late = engine.latency_frames
    dry = slice(int(4.5 * RATE), len(out))
    np.testing.assert_allclose(out[dry], audio[dry], atol=1e-6)  # bypassed: the input itself
    eq_on = slice(RATE, 4 * RATE)
    assert not np.allclose(out[eq_on], audio[eq_on], atol=1e-3)
    assert loudness(out[eq_on]) == pytest.approx(loudness(out[dry]) + loudness(audio[eq_on])
                                                 - loudness(audio[dry]), abs=0.5)
    assert late == 72 and engine.snapshot().bypass == 1.0


def test_sixteen_bit_outputs_are_dithered_and_never_wrap():
    quiet = sine(1000.0, 1.0, RATE, channels=1, amplitude=3 * 2 ** -15)  # three steps of 16 bits
    step = 2.0 ** -15
    for dither, spread in ((True, 0.25), (False, 1 / 12)):
        quantized = Quantizer("PCM_16", dither)(quiet.copy()).astype(np.float64) / 2 ** 31
        error = (quantized - quiet) / step
        # rounding alone leaves 1/12 step^2 of error power, locked to the signal; TPDF adds 1/6
        assert np.var(error) == pytest.approx(spread, rel=0.15)
    loud = np.array([[1.5], [-1.5], [0.999]], np.float32)
    wrapped = Quantizer("PCM_16")(loud) >> 16
    assert wrapped[0, 0] == 32767 and wrapped[1, 0] == -32768 and wrapped[2, 0] > 32000


@pytest.mark.slow
def test_a_whole_track_render_keeps_one_eq_and_one_gain(trained, tmp_path):
    """Two genres in one file: automatic mode decides once; the EQ and gain never move."""
    _, weights, _ = trained
    source, output, report = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "r.json"
    sf.write(str(source), music(24.0, 16000), 16000, subtype="PCM_16")
    result = run_cli("process", str(source), "-o", str(output), "--weights", str(weights), "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert "one EQ for the whole track" in result.stdout and "clipped samples: 0" in result.stdout
    timeline = json.loads(report.read_text())["timeline"]
    assert len(timeline) > 20
    assert len({entry["genre"] for entry in timeline}) == 1
    assert len({json.dumps(entry["eq"]) for entry in timeline}) == 1
    assert len({entry["level_gain_db"] for entry in timeline}) == 1
    rendered, _ = sf.read(str(output))
    original, _ = sf.read(str(source))
    assert rendered.shape == original.shape
    assert loudness(rendered, 16000) == pytest.approx(loudness(original, 16000), abs=0.5)

    followed = run_cli("process", str(source), "-o", str(tmp_path / "f.wav"), "--weights", str(weights),
                       "--follow", "--report", str(tmp_path / "f.json"))
    assert followed.returncode == 0, followed.stderr
    genres = [entry["genre"] for entry in json.loads((tmp_path / "f.json").read_text())["timeline"]]
    assert genres[-1] != genres[len(genres) // 3]  # following, it moved with the music


@pytest.mark.slow
def test_one_model_serves_many_files_and_never_overrides_a_chosen_genre(trained, tmp_path):
    """A library run loads the model once and passes it to each render; a render with a
    genre chosen does not classify, model or not."""
    from inteleq_rt.options import Options
    from inteleq_rt.offline import process_file
    from inteleq_rt.genre.weights import load_genre_model

    _, weights, _ = trained
    model = load_genre_model(weights)
    source = tmp_path / "in.wav"
    sf.write(str(source), music(12.0, 16000), 16000, subtype="PCM_16")
    chosen = process_file(source, tmp_path / "a.wav", Options(genre="jazz", weights=weights), model).summary
    heard = process_file(source, tmp_path / "b.wav", Options(weights=weights), model).summary
    assert chosen["eq"].startswith("jazz: chosen") and "model_load_seconds" not in chosen
    assert "the whole track heard as" in heard["eq"] and "model_load_seconds" not in heard


@pytest.mark.parametrize("target", [-14.0, pytest.param(-9.0, marks=pytest.mark.slow)])
def test_target_loudness_is_delivered_under_the_ceiling(tmp_path, target):
    """-9 LUFS takes the limiter several dB deep; the render makes up the loudness it took."""
    source, output = tmp_path / "in.flac", tmp_path / "out.wav"
    sf.write(str(source), music(10.0, peak_db=-12.0), RATE, subtype="PCM_24")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "rock_pop", "--target-lufs", str(target))
    assert result.returncode == 0, result.stderr
    rendered, _ = sf.read(str(output))
    assert loudness(rendered) == pytest.approx(target, abs=0.3)
    assert np.abs(rendered).max() <= CEILING + 2 ** -23
    assert "dither: TPDF to 24 bits" in result.stdout


@pytest.mark.slow
def test_a_target_that_takes_deep_limiting_is_delivered_with_a_warning(tmp_path):
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(source), music(10.0, peak_db=-12.0), RATE, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--genre", "hiphop", "--target-lufs", "-6")
    assert result.returncode == 0, result.stderr
    assert "expect audible pumping; lower --target-lufs or --amount" in result.stderr
    assert np.abs(sf.read(str(output))[0]).max() <= CEILING


@pytest.mark.slow
def test_a_reference_track_steers_match_mode_toward_its_balance(tmp_path):
    import pedalboard

    from inteleq_rt.training.dataset import long_term_balance

    source, reference, output = tmp_path / "in.wav", tmp_path / "ref.wav", tmp_path / "out.wav"
    sf.write(str(source), music(10.0, peak_db=-6.0), RATE, subtype="FLOAT")
    darker_bass_brighter_top = pedalboard.Pedalboard([pedalboard.LowShelfFilter(200, -4, 0.707),
                                                      pedalboard.HighShelfFilter(2000, 4, 0.707)])
    sf.write(str(reference), darker_bass_brighter_top(music(10.0, peak_db=-9.0), RATE), RATE, subtype="FLOAT")
    result = run_cli("process", str(source), "-o", str(output), "--reference", str(reference))
    assert result.returncode == 0, result.stderr
    assert "reference: chosen" in result.stdout
    before, after, wanted = (long_term_balance(sf.read(str(p), dtype="float32")[0], RATE)
                             for p in (source, output, reference))
    assert np.abs(after - wanted).mean() < np.abs(before - wanted).mean() / 3


@pytest.mark.parametrize("arguments, message", [
    (["--ceiling", "3"], "--ceiling 3: must be between -20 and 0 dBFS"),
    (["--target-lufs", "-14", "--follow"], "--target-lufs needs a whole-track render: drop --follow"),
    (["--target-lufs", "0"], "--target-lufs 0: must be between -40 and -5 LUFS"),
    (["--reference", "ref.wav", "--genre", "jazz"], "--reference steers range or match mode toward tracks"),
])
def test_bad_sound_options_are_one_line_errors(tmp_path, arguments, message):
    source = tmp_path / "in.wav"
    sf.write(str(source), sine(440.0, 1.0, RATE), RATE)
    result = run_cli("process", str(source), "-o", str(tmp_path / "o.wav"), *arguments)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "o.wav").exists()


def test_a_range_render_predicts_the_loudness_its_eq_adds_and_renders_again_if_it_missed(tmp_path, monkeypatch):
    """Range mode levels its render from the loudness the curve is predicted to add (no pass
    through the EQ to measure it); the render's own meter checks it, and a miss beyond 0.2 LU
    (forced here, 3 LU) is rendered again with the measured gain."""
    import pedalboard

    from inteleq_rt.offline import process_file
    from inteleq_rt.options import Options
    from inteleq_rt.tonal import curve

    source = tmp_path / "boomy.wav"
    boomy = pedalboard.Pedalboard([pedalboard.LowShelfFilter(150, 12, 0.707)])(music(12.0, peak_db=-20.0), RATE)
    sf.write(str(source), boomy, RATE, subtype="FLOAT")
    renders = []
    real_change = curve.loudness_change_db
    monkeypatch.setattr(curve, "loudness_change_db", lambda *args: renders.append(1) or real_change(*args))
    right = process_file(source, tmp_path / "right.wav", Options(genre="rock_pop")).summary
    monkeypatch.setattr(curve, "loudness_change_db", lambda *args: real_change(*args) + 3.0)
    missed = process_file(source, tmp_path / "missed.wav", Options(genre="rock_pop")).summary
    assert renders and right["gain_after_eq_db"] > 0.3  # the lows came down: the gain makes up for it
    for name in ("right.wav", "missed.wav"):
        assert loudness(sf.read(str(tmp_path / name))[0]) == pytest.approx(loudness(boomy), abs=0.3)
    assert abs(missed["gain_after_eq_db"] - right["gain_after_eq_db"]) < 0.2


def test_a_range_render_s_summary_measures_what_went_in_and_what_was_written(tmp_path):
    """The input's loudness comes from the plan's pass, the output's meters run in the
    encoding thread: each figure still agrees with the input and the file as written."""
    from inteleq_rt.offline import process_file
    from inteleq_rt.options import Options

    source, destination = tmp_path / "in.wav", tmp_path / "out.wav"
    heard = music(9.0, peak_db=-3.0)
    sf.write(str(source), heard, RATE, subtype="FLOAT")
    outcome = process_file(source, destination, Options(genre="hiphop", target_lufs=-8.0))
    written, _ = sf.read(str(destination), dtype="float32", always_2d=True)

    def ours(audio: np.ndarray) -> float:
        meter = IntegratedLoudness(RATE, audio.shape[1])
        meter.add(np.asarray(audio, np.float32))
        return meter.lufs()

    measured = outcome.measured
    assert measured["loudness_in_lufs"] == pytest.approx(ours(heard), abs=1e-6)
    assert measured["loudness_out_lufs"] == pytest.approx(ours(written), abs=1e-6)
    assert measured["peak"] == pytest.approx(float(np.max(np.abs(written))), abs=1e-7)
    assert measured["clipped_samples"] == int(np.count_nonzero(np.abs(written) > 1.0))
    assert measured["audio_seconds"] == pytest.approx(len(written) / RATE)
    assert measured["deepest_limiting_db"] > 0.5  # the limiter worked: the output is not the input scaled
