"""The filterbank: block-size invariance, band selectivity, any sample rate, silence."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inteleq_rt.engine.config import LEVEL_FLOOR_DB, PAPER_BANDS
from inteleq_rt.engine.levels import band_levels_db
from inteleq_rt.engine.config import band_set
from inteleq_rt.engine.filterbank import FilterBank

from .conftest import sine

RATE = 48_000
rng = np.random.default_rng(1)
NOISE = (rng.standard_normal((RATE // 2, 2)) * 0.2).astype(np.float32)


def analyse(audio: np.ndarray, splits, bands=PAPER_BANDS, rate=RATE) -> FilterBank:
    bank = FilterBank(bands, rate, audio.shape[1], 0.4)
    start = 0
    for size in splits:
        bank.process(audio[start : start + size])
        start += size
    bank.process(audio[start:])
    return bank


@pytest.mark.parametrize("block", [1, 7, 64, 256, 4096])
def test_fixed_block_sizes_match_whole_signal(block):
    whole = analyse(NOISE, [])
    blocked = analyse(NOISE, [block] * (len(NOISE) // block))
    np.testing.assert_allclose(blocked.band_ms, whole.band_ms, rtol=1e-12)
    np.testing.assert_allclose(blocked.overall_ms, whole.overall_ms, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=60),
       st.sampled_from(["paper", "octave", "third-octave"]))
def test_random_splits_match_whole_signal(splits, bands_name):
    bands = band_set(bands_name)
    audio = NOISE[: min(len(NOISE), sum(splits) + 100)]
    whole = analyse(audio, [], bands)
    blocked = analyse(audio, [s for s in splits if s <= len(audio)], bands)
    np.testing.assert_allclose(blocked.band_ms, whole.band_ms, rtol=1e-12)
    np.testing.assert_allclose(blocked.state, whole.state, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("frequency, band", [(100, 0), (350, 1), (1000, 2), (3500, 3), (10000, 4)])
def test_a_sine_lands_in_its_own_band(frequency, band):
    bank = analyse(sine(frequency, 3.0, RATE), [])  # 7.5 time constants: settled
    relative, overall = band_levels_db(bank.band_ms, bank.overall_ms)
    # 4th-order Butterworth bands: 12 dB/octave skirts, so an adjacent (one-octave) band still
    # hears a sine half an octave from its edge; bands further away must not.
    assert abs(relative[band]) < 0.5, relative
    distance = np.abs(np.arange(len(relative)) - band)
    assert np.all(relative[distance == 1] < -6.0), relative
    assert np.all(relative[distance >= 2] < -25.0), relative
    assert abs(overall - 20 * np.log10(0.25 / np.sqrt(2))) < 0.1


def test_band_sets_are_data():
    assert band_set("paper") == PAPER_BANDS
    assert len(band_set("octave")) == 11
    assert len(band_set("third-octave")) == 31
    with pytest.raises(ValueError, match="unknown band set"):
        band_set("quarter-tone")


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000, 192000])
def test_designed_for_any_rate(rate):
    bank = FilterBank(PAPER_BANDS, rate, 1, 0.4)
    # at 8 kHz the 6-20 kHz band lies above Nyquist and reads as silence; at 22.05 kHz it is a high-pass
    assert bank.present.tolist() == [True, True, True, True, rate > 8000]
    bank.process(sine(1000, 0.5, rate, channels=1))
    relative, _ = band_levels_db(bank.band_ms, bank.overall_ms)
    assert np.all(np.isfinite(relative))
    assert relative.argmax() == 2


def test_silence_reads_the_floor_not_nan():
    bank = analyse(np.zeros((RATE, 2), np.float32), [])
    relative, overall = band_levels_db(bank.band_ms, bank.overall_ms)
    assert overall == pytest.approx(LEVEL_FLOOR_DB)
    assert np.all(np.isfinite(relative))


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000, 96_000])
def test_band_designs_are_scipys_butterworth(rate):
    """The bank designs its Butterworth sections itself (scipy.signal is slow to import); they
    are scipy's, section for section, for every band of every set the bank would design."""
    from scipy import signal

    from inteleq_rt.engine.filterbank import design_bands

    for name in ("paper", "octave", "third-octave"):
        bands = band_set(name)
        sos, present = design_bands(bands, rate)
        for (low, high), ours, there in zip(bands, sos, present):
            if not there:
                continue
            if high >= 0.9 * rate / 2:
                theirs = signal.butter(4, low, btype="highpass", output="sos", fs=rate)
            else:
                theirs = signal.butter(2, (low, high), btype="bandpass", output="sos", fs=rate)
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
