"""Tonal ranges: the balance measurement, range building, the range rule and its filters."""

import json

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from inteleq_rt.engine.config import ConfigError
from inteleq_rt.engine.curve_eq import SHELF_Q
from inteleq_rt.engine.presets import EqFilter, PresetError, check_preset_path, load_preset_file
from inteleq_rt.errors import InteleqError
from inteleq_rt.options import Options
from inteleq_rt.tonal.curve import filters_of, fit_gains, response_db
from inteleq_rt.tonal.rule import Limits, blended_correction, explain, range_correction
from inteleq_rt.tonal.spectrum import CENTRES_HZ, LongTermSpectrum
from inteleq_rt.tonal.targets import build_range, read_ranges, write_ranges
from tests.conftest import run_cli

RATE = 44_100


def noise(seconds=6.0, seed=0, lowpass_hz=None, tilt_db_per_octave=0.0):
    """Noise whose band powers rise by ``tilt`` per octave (white noise: +3 dB per 1/3-octave
    band per octave of width), optionally lowpassed like a lossy encoder's cliff."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(int(seconds * RATE)))
    frequencies = np.fft.rfftfreq(int(seconds * RATE), 1 / RATE)
    shape = (np.maximum(frequencies, 20.0) / 1000.0) ** ((tilt_db_per_octave - 3.0) / 20 / np.log10(2) * 1.0)
    audio = np.fft.irfft(spectrum * shape, int(seconds * RATE))
    if lowpass_hz:
        audio = signal.sosfilt(signal.butter(16, lowpass_hz, fs=RATE, output="sos"), audio)
    return (0.1 * audio / np.std(audio))[:, None].astype(np.float32)


def balance(audio):
    spectrum = LongTermSpectrum(RATE)
    for start in range(0, len(audio), 1000):  # blocks of any size
        spectrum.add(audio[start : start + 1000])
    return spectrum


def test_equal_power_bands_measure_flat_and_a_tilt_measures_its_slope():
    flat = balance(noise()).balance_db()
    assert np.nanmax(np.abs(flat[CENTRES_HZ > 60])) < 1.5
    tilted = balance(noise(tilt_db_per_octave=-3.0)).balance_db()
    slope = np.polyfit(np.log2(CENTRES_HZ[CENTRES_HZ > 60]), tilted[CENTRES_HZ > 60], 1)[0]
    assert slope == pytest.approx(-3.0, abs=0.4)


def test_bands_above_an_encoders_lowpass_are_not_measured():
    spectrum = balance(noise(lowpass_hz=11_000))
    assert 10_500 < spectrum.bandwidth_hz() < 12_500
    levels = spectrum.balance_db()
    assert np.isfinite(levels[CENTRES_HZ < 9000]).all() and np.isnan(levels[CENTRES_HZ > 12_000]).all()


def test_silence_is_left_out_of_the_balance():
    music = noise()
    with_gap = np.concatenate([music[: len(music) // 2], np.zeros((RATE * 10, 1), np.float32), music[len(music) // 2:]])
    assert np.nanmax(np.abs(balance(with_gap).balance_db() - balance(music).balance_db())) < 0.3


def test_a_range_is_the_median_and_percentiles_of_known_songs():
    rng = np.random.default_rng(1)
    base = np.linspace(-10, 5, len(CENTRES_HZ))
    songs = base + rng.normal(0, 2.0, (400, len(CENTRES_HZ)))
    songs[:390, -1] = np.nan  # few songs reach the top band: no range there
    r = build_range("test", songs, artists=40)
    assert np.allclose(r.median_db[:-1], base[:-1], atol=0.4)
    assert np.allclose(r.high_db[:-1] - r.low_db[:-1], 2 * 1.2816 * 2.0, atol=0.6)
    assert r.songs_per_band[-1] == 10 and np.isfinite(r.median_db[-1])
    assert np.isnan(build_range("few", songs[:2], 1).median_db).all()


def _range():
    middle = np.zeros(len(CENTRES_HZ))
    return build_range("genre", np.stack([middle - 2, middle, middle + 2]), 3)


def test_a_song_inside_its_range_is_left_nearly_flat():
    assert np.abs(range_correction(np.zeros(len(CENTRES_HZ)), _range())).max() < 1e-9  # at the median: untouched
    wobble = np.sin(np.arange(len(CENTRES_HZ)) / 2.0)  # within +-1 dB of the median, the range +-1.6
    assert np.abs(range_correction(wobble, _range())).max() < 0.2
    assert explain(range_correction(wobble, _range()), "genre").startswith("left flat")


def test_a_song_outside_is_moved_back_toward_the_edge_the_more_surely_the_further_out():
    lows = CENTRES_HZ < 60
    moved = {}
    for lift in (3.0, 6.0, 12.0):  # heavy lows (below 150 Hz), the range's edge 1.6 dB over the median
        song = np.where(CENTRES_HZ < 150, lift, 0.0)
        correction = range_correction(song, _range())
        excess = lift - 1.6
        assert np.all(-correction[lows] < excess)  # back toward the edge, not past it to the median
        assert np.abs(correction[(CENTRES_HZ > 600) & (CENTRES_HZ < 6000)]).max() < 0.3
        moved[lift] = -correction[lows].mean() / excess
    assert moved[3.0] < moved[6.0] < moved[12.0] and moved[6.0] > 0.7 and moved[12.0] > 0.9  # the further, the surer
    assert "over genre's range" in explain(range_correction(np.where(CENTRES_HZ < 150, 6.0, 0.0), _range()), "genre")


def test_an_unsure_genre_moves_less():
    song = np.zeros(len(CENTRES_HZ))
    song[CENTRES_HZ > 4000] -= 8.0
    ranges = {"genre": _range()}
    sure = blended_correction(song, ranges, {"genre": 1.0})
    unsure = blended_correction(song, ranges, {"genre": 0.4, "other": 0.6})
    assert np.allclose(unsure, 0.4 * sure) and sure.max() > 2.0


def test_filters_follow_a_mastering_curve_within_a_fraction_of_a_db():
    curve = response_db((EqFilter("low_shelf", 120.0, 4.0, SHELF_Q), EqFilter("peak", 900.0, -3.0, 0.9),
                         EqFilter("high_shelf", 5000.0, -5.0, SHELF_Q)), CENTRES_HZ)
    fitted = filters_of(fit_gains(curve))
    assert np.sqrt(np.mean((curve - response_db(fitted, CENTRES_HZ)) ** 2)) < 0.5
    assert all(abs(f.gain_db) <= 6.0 and f.q <= 1.0 for f in filters_of(fit_gains(curve * 4)))


@pytest.mark.slow
def test_the_targets_command_writes_ranges_it_can_read(tmp_path):
    for genre, tilt in (("bright", 1.0), ("dark", -2.0)):
        (tmp_path / "corpus" / genre).mkdir(parents=True)
        for seed in range(3):
            sf.write(tmp_path / "corpus" / genre / f"{seed}.flac", noise(4.0, seed, tilt_db_per_octave=tilt), RATE)
    out = tmp_path / "ranges.toml"
    done = run_cli("targets", str(tmp_path / "corpus"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    ranges = read_ranges(out)
    assert set(ranges) == {"bright", "dark"} and ranges["dark"].songs == 3
    assert ranges["bright"].median_db[-5] > ranges["dark"].median_db[-5] + 10
    again = run_cli("targets", str(tmp_path / "corpus"), "-o", str(out))
    assert again.returncode != 0 and "exists" in again.stderr and "Traceback" not in again.stderr
    missing = run_cli("targets", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.toml"))
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1


def test_ranges_on_other_bands_are_refused(tmp_path):
    """The shipped file reads; a file on other bands is refused with its name."""
    from inteleq_rt.resources import presets_dir

    assert "electronic" in read_ranges(presets_dir(None) / "ranges.toml")
    (tmp_path / "ranges.toml").write_text("centres_hz = [1000.0]\n")
    with pytest.raises(InteleqError, match="ranges.toml"):
        read_ranges(tmp_path / "ranges.toml")


def test_written_ranges_keep_missing_bands_missing(tmp_path):
    r = build_range("g", np.array([[0.0] * 27 + [np.nan]] * 3), 1)
    write_ranges(tmp_path / "r.toml", {"g": r}, "how")
    back = read_ranges(tmp_path / "r.toml")["g"]
    assert np.isnan(back.median_db[-1]) and back.median_db[0] == 0.0


def _presets_with_range(tmp_path):
    """The shipped presets, with a rock_pop range of bright songs around white noise."""
    import shutil

    from inteleq_rt.resources import presets_dir

    folder = tmp_path / "presets"
    shutil.copytree(presets_dir(None), folder)
    songs = [balance(noise(4.0, seed)).balance_db() for seed in range(3)]
    write_ranges(folder / "ranges.toml", {"rock_pop": build_range("rock_pop", np.array(songs), 3)}, "test")
    return folder


@pytest.mark.slow
def test_range_mode_cuts_the_excess_and_leaves_an_inside_track_flat(tmp_path):
    folder = _presets_with_range(tmp_path)
    boomy = noise(8.0, 9)
    boomy = boomy + 4 * signal.sosfilt(signal.butter(2, 120, fs=RATE, output="sos"), boomy, axis=0).astype(np.float32)
    for name, audio in (("inside.wav", noise(8.0, 8)), ("boomy.wav", boomy)):
        sf.write(tmp_path / name, 0.5 * audio / np.abs(audio).max(), RATE, subtype="FLOAT")
    runs = {name: run_cli("process", str(tmp_path / f"{name}.wav"), "-o", str(tmp_path / f"{name}-out.wav"),
                          "--mode", "range", "--genre", "rock_pop", "--presets", str(folder))
            for name in ("inside", "boomy")}
    assert all(r.returncode == 0 for r in runs.values()), runs["boomy"].stderr
    assert "left flat: the balance lies inside rock_pop's range" in runs["inside"].stdout
    assert "over rock_pop's range" in runs["boomy"].stdout
    inside_in, inside_out = (balance(sf.read(tmp_path / n, dtype="float32")[0][:, None]).balance_db()
                             for n in ("inside.wav", "inside-out.wav"))
    assert np.nanmax(np.abs(inside_out - inside_in)) < 0.3
    low = CENTRES_HZ < 80
    before, after = (balance(sf.read(tmp_path / n, dtype="float32")[0][:, None]).balance_db()
                     for n in ("boomy.wav", "boomy-out.wav"))
    assert np.mean(after[low]) < np.mean(before[low]) - 3.0  # moved back toward the range


@pytest.mark.slow
def test_the_applied_curve_saves_as_a_preset_that_renders_the_same_and_the_report_shows_why(tmp_path):
    folder = _presets_with_range(tmp_path)
    boomy = noise(6.0, 9)
    boomy = boomy + 4 * signal.sosfilt(signal.butter(2, 120, fs=RATE, output="sos"), boomy, axis=0).astype(np.float32)
    sf.write(tmp_path / "boomy.wav", 0.5 * boomy / np.abs(boomy).max(), RATE, subtype="FLOAT")
    saved = tmp_path / "my curve.toml"
    made = run_cli("process", str(tmp_path / "boomy.wav"), "-o", str(tmp_path / "range.wav"), "--genre", "rock_pop",
                   "--presets", str(folder), "--amount", "70", "--save-preset", str(saved),
                   "--report", str(tmp_path / "report.json"))
    assert made.returncode == 0 and f"saved preset: {saved}" in made.stdout, made.stderr
    tonal = json.loads((tmp_path / "report.json").read_text())["tonal_balance"]
    low = np.asarray(tonal["centres_hz"]) < 80
    over = np.asarray(tonal["balance_db"], float)[low] > np.asarray(tonal["range_high_db"], float)[low]
    assert tonal["genre"] == "rock_pop" and over.any()  # the boom lay over the range...
    assert max(np.asarray(tonal["correction_db"], float)[low]) < -1.0  # ...and was cut there
    preset = load_preset_file(saved)
    assert preset.name == "my curve" and "rock_pop" in preset.description and "amount 70%" in preset.source
    assert any(f.kind == "low_shelf" and f.gain_db < -1.0 for f in preset.eq)  # the boom, cut
    # the correction shown is what was applied (the saved gains, --amount in them), not the
    # full curve's response times 0.7
    applied = response_db(preset.eq, np.asarray(tonal["centres_hz"]))
    assert np.allclose(np.asarray(tonal["correction_db"], float), applied, atol=0.02)
    again = run_cli("process", str(tmp_path / "boomy.wav"), "-o", str(tmp_path / "again.wav"), "--preset", str(saved))
    assert again.returncode == 0 and "my curve: chosen" in again.stdout, again.stderr
    first, second = (sf.read(tmp_path / name, dtype="float64")[0] for name in ("range.wav", "again.wav"))
    # the same EQ (its gains kept to 0.01 dB); the level within 0.2 dB: range mode predicts
    # the loudness its curve adds, a preset's render measures it
    scale = np.sum(first * second) / np.sum(second * second)
    assert abs(20 * np.log10(scale)) < 0.2
    assert 10 * np.log10(np.mean((first - scale * second) ** 2) / np.mean(first ** 2)) < -70
    kept = saved.read_bytes()
    twice = run_cli("process", str(tmp_path / "boomy.wav"), "-o", str(tmp_path / "third.wav"), "--genre", "rock_pop",
                    "--presets", str(folder), "--save-preset", str(saved))
    assert twice.returncode != 0 and "--force" in twice.stderr and saved.read_bytes() == kept
    assert not (tmp_path / "third.wav").exists()


@pytest.mark.slow
def test_range_mode_needs_ranges(tmp_path):
    folder = _presets_with_range(tmp_path)
    (folder / "ranges.toml").unlink()
    sf.write(tmp_path / "in.wav", noise(4.0), RATE)
    missing = run_cli("process", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--mode", "range",
                      "--genre", "rock_pop", "--presets", str(folder))
    assert missing.returncode != 0 and "inteleq-rt targets" in missing.stderr and not (tmp_path / "out.wav").exists()


def test_user_limits_cap_the_correction_and_keep_protected_bands_flat():
    genre = _range()
    heard = np.where(CENTRES_HZ < 150, 10.0, np.where(CENTRES_HZ > 9000, -8.0, 0.0))  # boomy and dull
    curve = range_correction(heard, genre)
    free = response_db(filters_of(Limits().fit(curve, heard)), CENTRES_HZ)
    assert free[CENTRES_HZ < 80].mean() < -4.0 and free[CENTRES_HZ > 10_000].mean() > 2.0
    capped = filters_of(Limits(max_gain_db=2.0).fit(curve, heard))
    assert capped and all(abs(f.gain_db) <= 2.0 for f in capped)
    kept = response_db(filters_of(Limits(protect_hz=((8000.0, 20_000.0),)).fit(curve, heard)), CENTRES_HZ)
    assert np.abs(kept[CENTRES_HZ >= 8000]).max() < 0.6  # the air is left alone
    assert kept[CENTRES_HZ < 80].mean() < -4.0  # the bass is still cut


@pytest.mark.slow
def test_limits_are_checked_in_one_line(tmp_path):
    sf.write(tmp_path / "in.wav", noise(4.0), RATE)
    for args, said in ((["--protect", "loud"], "LOW-HIGH"), (["--protect", "9k-2k"], "LOW below HIGH"),
                       (["--max-gain", "40"], "between 0 and 12 dB"),
                       (["--protect", "1k-2k", "--mode", "preset"], "use it with --mode range"),
                       (["--save-preset", str(tmp_path / "out.wav")], "names the same file as -o")):
        made = run_cli("process", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--genre", "jazz", *args)
        assert made.returncode != 0 and said in made.stderr and len(made.stderr.strip().splitlines()) == 1, made.stderr
    assert not (tmp_path / "out.wav").exists()


def test_a_curve_a_preset_cannot_hold_is_refused_before_any_work(tmp_path):
    curve = tmp_path / "curve.toml"
    for fields, said in ((dict(follow=True), "drop --follow"), (dict(max_gain_db=9.0), "--max-gain 6 or less"),
                         (dict(mode="match", bands="third-octave"), "holds at most 16")):
        with pytest.raises(ConfigError, match=said):
            Options(genre="jazz", save_preset=curve, **fields)
    with pytest.raises(ConfigError, match="without --genre"):
        Options(genre="jazz", preset_file=curve, mode="preset")
    for name, said in (("curve.txt", "NAME.toml"), ("ranges.toml", "name the preset otherwise")):
        with pytest.raises(PresetError, match=said):
            check_preset_path(tmp_path / name)


def _tilt_db_per_octave(path):
    measured = balance(sf.read(path, dtype="float32", always_2d=True)[0]).balance_db()
    scored = np.isfinite(measured) & (CENTRES_HZ < 10_000)
    return np.polyfit(np.log2(CENTRES_HZ[scored]), measured[scored], 1)[0]


@pytest.mark.slow
def test_one_reference_is_matched_and_several_span_a_range(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    for tilt in (-1.0, 0.0, 1.0):
        sf.write(refs / f"ref{tilt:+g}.wav", noise(6.0, int(tilt + 5), tilt_db_per_octave=tilt), RATE, subtype="FLOAT")
    for tilt in (0.5, 1.5, 2.5):
        sf.write(tmp_path / f"in{tilt:g}.wav", noise(6.0, 20, tilt_db_per_octave=tilt), RATE, subtype="FLOAT")

    def rendered_tilt(name, reference):
        out = tmp_path / f"{name}-{reference.stem}.wav"
        made = run_cli("process", str(tmp_path / f"{name}.wav"), "-o", str(out), "--reference", str(reference),
                       "--no-level-match")
        assert made.returncode == 0, made.stderr
        assert "range" in made.stdout  # range mode is what --reference means by default
        return _tilt_db_per_octave(out)

    # one reference: a precise target (1.5 dB/octave too bright -> the reference's own 0)
    assert abs(rendered_tilt("in1.5", refs / "ref+0.wav")) < 0.3
    # three: a range from -1 to +1 dB/octave, widened for so few by ~2 dB a side (~0.5 dB/octave at
    # the ends); inside it a track stays, outside it moves back toward its edge
    assert abs(rendered_tilt("in0.5", refs) - 0.5) < 0.15
    assert 1.2 < rendered_tilt("in2.5", refs) < 2.4


def test_analyze_judges_the_track_as_its_render_does_and_following_as_it_ended(tmp_path):
    from inteleq_rt.offline import analyze_file, process_file

    folder = _presets_with_range(tmp_path)
    boomy = noise(6.0, 9)
    boomy = boomy + 4 * signal.sosfilt(signal.butter(2, 120, fs=RATE, output="sos"), boomy, axis=0).astype(np.float32)
    source = tmp_path / "boomy.wav"
    sf.write(source, 0.5 * boomy / np.abs(boomy).max(), RATE, subtype="FLOAT")
    options = Options(genre="rock_pop", mode="range", presets=folder)
    judged = analyze_file(source, options).tonal
    process_file(source, tmp_path / "out.wav", Options(genre="rock_pop", mode="range", presets=folder,
                                                       report=tmp_path / "report.json"))
    reported = json.loads((tmp_path / "report.json").read_text())["tonal_balance"]
    np.testing.assert_allclose(np.asarray(reported["balance_db"], float), judged.balance_db, atol=0.01)
    np.testing.assert_allclose(np.asarray(reported["correction_db"], float), judged.correction_db, atol=0.01)
    assert judged.genre_range.genre == "rock_pop" and judged.correction_db[CENTRES_HZ < 80].mean() < -1.0
    followed = analyze_file(source, Options(genre="rock_pop", mode="range", presets=folder, follow=True)).tonal
    assert followed.genre == "rock_pop" and followed.genre_range is not None
    assert followed.correction_db[CENTRES_HZ < 80].mean() < -1.0  # the live rule cut the boom too


def test_the_follower_posts_no_correction_while_the_classifier_beside_it_is_unsure():
    """Live range mode holds the correction as the classifier holds the genre: the follower
    listens all along, and posts once it may."""
    from inteleq_rt.engine.commands import CommandRecord
    from inteleq_rt.engine.config import EngineConfig
    from inteleq_rt.engine.engine import Engine
    from inteleq_rt.tonal.follow import RangeFollower
    from inteleq_rt.tonal.targets import ranges_in

    engine = Engine(EngineConfig(mode="range", input_ring_s=4.0), genre="rock_pop")
    port = engine.classifier_port
    follower = RangeFollower(ranges_in(None), port, period_s=1.0)
    audio = np.repeat(noise(seconds=9.0, tilt_db_per_octave=2.0), 2, axis=1)
    out = np.empty((256, 2), np.float32)

    def posted() -> bool:
        return CommandRecord.curves(port.commands.fields) is not None

    for start in range(0, len(audio) - 256, 256):
        engine.process(audio[start : start + 256], out)
        follower.step(holding=True)
    assert not posted() and follower.spectrum.frames_heard > 0
    follower.step(holding=False)  # nothing new since the last step: not due yet
    for start in range(0, 2 * RATE, 256):
        engine.process(audio[start : start + 256], out)
        follower.step(holding=False)
    assert posted()
