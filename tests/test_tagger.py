"""The musicnn port holds to the original, and its input is librosa's mel spectrogram."""

from pathlib import Path

import numpy as np
import pytest

from inteleq_rt.genre.musicnn.mel import PATCH_FRAMES, MelStream, log_compress, mel_filters, mel_power, patch_log_mel
from inteleq_rt.genre.musicnn.tagger import load_tagger
from inteleq_rt.resources import shipped_weights

from .fixtures.make_librosa_mel import RATE, probe

REFERENCE = Path(__file__).parent / "fixtures" / "musicnn_reference.npz"
LIBROSA = Path(__file__).parent / "fixtures" / "librosa_mel.npz"


@pytest.fixture(scope="module")
def tagger():
    return load_tagger(shipped_weights() / "musicnn")


def test_the_port_matches_the_original_network(tagger):
    """Outputs of musicnn's own TensorFlow graph on three log-mel patches (one of loud music),
    kept by ``convert_musicnn --reference``."""
    reference = np.load(REFERENCE)
    out = tagger.tag(reference["patches"])
    np.testing.assert_allclose(out.logits, reference["logits"], rtol=1e-5, atol=1e-4)
    embedding = np.concatenate([reference["mean_pool"], reference["max_pool"], reference["penultimate"]], axis=-1)
    np.testing.assert_allclose(out.embedding, embedding, rtol=1e-5, atol=1e-4)
    assert tagger.tags[int(np.argmax(out.logits[0]))] in ("ambient", "electronic")  # the synthesized demo clip


def test_the_mel_front_end_is_librosas():
    """Against librosa's own output, kept as a fixture (fixtures/make_librosa_mel.py)."""
    librosa = np.load(LIBROSA)
    expected = np.log10(1 + 10000 * librosa["mel"].astype(np.float64))
    np.testing.assert_allclose(log_compress(mel_power(probe(), RATE)[0]), expected, atol=1e-5)
    np.testing.assert_allclose(mel_filters(), librosa["filters"], atol=1e-7)


def test_loud_music_stays_finite():
    """musicnn's own code casts to float16 before the log and overflowed on 151 of 198 clips."""
    loud = np.clip(np.random.default_rng(1).normal(scale=4.0, size=(16000 * 2, 2)), -1, 1).astype(np.float32)
    power, levels = mel_power(loud, 16000)
    assert np.all(np.isfinite(patch_log_mel(power[:PATCH_FRAMES], levels[:PATCH_FRAMES])))


@pytest.mark.parametrize("attenuation_db", [0.0, 20.0, 40.0])
def test_a_patch_is_the_same_at_any_playback_level(attenuation_db):
    """The tagger hears every patch at one level: the same music 0-40 dB quieter makes the
    same patch (the genre moved with level before: jazz at 0 and -20 dB, classical at -40)."""
    from inteleq_rt.demo import demo_clip

    audio, rate = demo_clip(4.0, 16000)
    reference = patch_log_mel(*(part[:PATCH_FRAMES] for part in mel_power(audio, rate)))
    quieter = audio * np.float32(10 ** (-attenuation_db / 20))
    power, levels = mel_power(quieter, rate)
    np.testing.assert_allclose(patch_log_mel(power[:PATCH_FRAMES], levels[:PATCH_FRAMES]), reference, atol=2e-3)


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_block_split_input_gives_the_whole_files_frames(rate):
    rng = np.random.default_rng(rate)
    audio = rng.normal(scale=0.1, size=(rate * 3, 2)).astype(np.float32)
    whole = MelStream(rate, 2).push(audio)
    stream, parts, start = MelStream(rate, 2), [], 0
    while start < len(audio):
        size = int(rng.integers(16, 4096))
        parts.append(stream.push(audio[start : start + size]))
        start += size
    streamed = np.concatenate(parts)
    assert abs(len(streamed) - len(whole)) <= 1  # the resampler may hold back a few samples
    n = min(len(streamed), len(whole))
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=1e-5)
