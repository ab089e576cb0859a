"""The EQ: no clicks on genre switches or gain changes, flat is transparent, match steers."""

import numpy as np
import pytest

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.engine.engine import Engine

from .conftest import sine
from .conftest import worst_out_of_band_db as out_of_band

RATE = 48_000
BLOCK = 256
# The EQ stage alone: no level matching, no limiter (their own tests are in test_sound.py).
EQ_ONLY = EngineConfig(level_match=False, ceiling_db=None)


def run(engine: Engine, audio: np.ndarray, events: dict[int, callable] | None = None) -> np.ndarray:
    out = np.empty_like(audio)
    for index in range(len(audio) // BLOCK):
        if events and index in events:
            events[index](engine)
        block = slice(index * BLOCK, (index + 1) * BLOCK)
        engine.process(audio[block], out[block])
    return out[: len(audio) // BLOCK * BLOCK]


def worst_out_of_band_db(out: np.ndarray, tone_hz: float, skip_s: float = 0.5) -> float:
    """After the filters settle, the worst out-of-band level in any short frame (dBFS)."""
    return out_of_band(out[int(skip_s * RATE):, 0].astype(np.float64), RATE, tone_hz)


def block_at(seconds: float) -> int:
    return int(seconds * RATE) // BLOCK


@pytest.mark.parametrize("tone_hz", [100.0, 1000.0, 5000.0])
def test_genre_switch_crossfades_without_a_click(tone_hz):
    engine = Engine(EngineConfig(crossfade_s=0.5), genre="rock_pop")
    events = {block_at(1.0): lambda e: e.request_genre("hiphop"),
              block_at(2.0): lambda e: e.request_genre("classical"),
              block_at(2.2): lambda e: e.request_genre("disco")}  # arrives mid-fade: queued
    out = run(engine, sine(tone_hz, 4.0, RATE), events)
    assert engine.genre == "disco"
    assert worst_out_of_band_db(out, tone_hz) < -60.0


def test_abrupt_switch_would_click():
    """The click test can fail: the same switch with no crossfade shows broadband energy."""
    audio = sine(1000.0, 3.0, RATE)
    before = run(Engine(EngineConfig(), genre="classical"), audio)
    after = run(Engine(EngineConfig(), genre="hiphop"), audio)
    switch = block_at(1.0) * BLOCK
    spliced = np.concatenate([before[:switch], after[switch:]])
    assert worst_out_of_band_db(spliced, 1000.0) > -60.0


def test_amount_changes_are_ramped():
    engine = Engine(EngineConfig(), genre="hiphop")
    events = {block_at(1.0): lambda e: e.set_amount(0.0), block_at(2.0): lambda e: e.set_amount(1.0)}
    out = run(engine, sine(60.0, 3.5, RATE), events)
    assert worst_out_of_band_db(out, 60.0) < -60.0
    gains = [g for _, g in engine.snapshot().eq_gains]
    assert gains == pytest.approx([4.0, -2.0, 1.0, 1.5])


def test_flat_is_transparent():
    audio = (np.random.default_rng(3).standard_normal((RATE, 2)) * 0.3).astype(np.float32)
    out = run(Engine(EQ_ONLY, genre="flat"), audio)
    error = np.max(np.abs(out - audio[: len(out)]))
    assert 20 * np.log10(error + 1e-30) < -90.0


def test_preset_mode_applies_the_preset_response():
    """hiphop's +4 dB low shelf at 60 Hz: a 30 Hz tone comes out about 4 dB louder."""
    out = run(Engine(EQ_ONLY, genre="hiphop"), sine(30.0, 2.0, RATE))
    gain_db = 20 * np.log10(np.max(np.abs(out[RATE:, 0])) / 0.25)
    assert 3.0 < gain_db < 4.5


def test_match_mode_steers_toward_the_target_and_stays_limited():
    noise = (np.random.default_rng(4).standard_normal((RATE * 12, 2)) * 0.1).astype(np.float32)
    config = EngineConfig(mode="match", match_smoothing_s=1.0)
    engine = Engine(config, genre="hiphop")
    run(engine, noise)
    snapshot = engine.snapshot()
    gains = np.array([g for _, g in snapshot.eq_gains])
    # white noise is top-heavy: hiphop's target wants more low band, less 2-6 kHz
    assert gains[0] > 3.0 and gains[3] < -2.0
    assert np.all(np.abs(gains) <= config.match_max_gain_db + 1e-9)
    assert gains[4] == 0.0  # 6-20 kHz: the target corpus never measured it
    from inteleq_rt.engine.levels import band_levels_db

    target = np.array(engine.presets["hiphop"].target.levels_db)
    before, _ = band_levels_db(snapshot.input_band_ms, snapshot.input_overall_ms)
    after, _ = band_levels_db(snapshot.output_band_ms, snapshot.output_overall_ms)
    steered = slice(0, 4)
    assert np.abs(after - target)[steered].mean() < np.abs(before - target)[steered].mean() - 1.0


def test_match_mode_target_change_is_click_free():
    engine = Engine(EngineConfig(mode="match", match_smoothing_s=0.5), genre="hiphop")
    events = {block_at(1.5): lambda e: e.request_genre("classical")}
    out = run(engine, sine(1000.0, 4.0, RATE), events)
    assert worst_out_of_band_db(out, 1000.0) < -60.0


@pytest.mark.parametrize("tone_hz", [100.0, 1000.0, 5000.0])
def test_range_mode_corrections_and_genre_changes_are_click_free(tone_hz):
    """Live range mode: corrections posted abruptly (+-6 dB, every filter at once), a genre
    change and a probability blend are ramped on one chain, never stepped."""
    engine = Engine(EngineConfig(mode="range"), genre="rock_pop")
    shape = (len(engine.genres), engine.curve_filters)
    up, down = np.full(shape, 6.0), np.full(shape, -6.0)
    down[engine.genres.index("classical")] = 3.0
    blend = {"rock_pop": 0.5, "classical": 0.5}
    events = {block_at(1.0): lambda e: e.classifier_port.post_curves(up),
              block_at(1.6): lambda e: e.classifier_port.post_curves(down),
              block_at(2.4): lambda e: e.request_genre("classical"),
              block_at(3.0): lambda e: e.classifier_port.post_decision("rock_pop", blend)}
    out = run(engine, sine(tone_hz, 5.0, RATE), events)
    assert worst_out_of_band_db(out, tone_hz) < -60.0
    gains = np.array([g for _, g in engine.snapshot().eq_gains])
    assert engine.genre == "classical"  # the user's genre outranks the classifier's
    np.testing.assert_allclose(gains, 3.0)  # classical's row alone: its weight is the user's choice


def test_range_mode_blends_the_classifiers_genres_by_probability():
    engine = Engine(EngineConfig(mode="range"), genre="flat")
    curves = np.zeros((len(engine.genres), engine.curve_filters))
    curves[engine.genres.index("rock_pop")], curves[engine.genres.index("classical")] = 4.0, -2.0
    engine.classifier_port.post_curves(curves)
    engine.classifier_port.post_decision("rock_pop", {"rock_pop": 0.6, "classical": 0.3, "jazz": 0.1})
    run(engine, np.zeros((2 * RATE, 2), np.float32))
    np.testing.assert_allclose([g for _, g in engine.snapshot().eq_gains], 0.6 * 4.0 - 0.3 * 2.0)
