"""One feature path: offline extraction equals what the streaming engine publishes.

The model's features are those of the mono downmix (see FeatureTracker); the engine analyses
each channel, so the two meet exactly on mono audio.
"""

import numpy as np

from inteleq_rt.engine.config import EngineConfig
from inteleq_rt.demo import demo_clip
from inteleq_rt.engine.engine import Engine
from inteleq_rt.engine.levels import feature_vector
from inteleq_rt.genre.filterbank.features import FeatureSpec, extract_features


def test_engine_snapshots_equal_offline_extraction():
    stereo, rate = demo_clip(seconds=3.0)
    audio = stereo.mean(axis=1, keepdims=True, dtype=np.float32)
    config = EngineConfig(sample_rate=rate, channels=1)
    hop_blocks, block = 8, 256
    spec = FeatureSpec(bands=config.bands, statistics=("level",), rms_window_s=config.rms_window_s,
                       hop_s=hop_blocks * block / rate)
    times, offline = extract_features(audio, rate, spec, every_s=spec.hop_s, skip_s=0.0)

    engine = Engine(config, genre="hiphop")
    out = np.empty((block, 1), np.float32)
    streamed = []
    for index in range(len(audio) // block):
        engine.process(audio[index * block : (index + 1) * block], out)
        if (index + 1) % hop_blocks == 0:
            snapshot = engine.snapshot()
            streamed.append(feature_vector(snapshot.input_band_ms, snapshot.input_overall_ms))
    count = min(len(streamed), len(offline))
    assert count >= 40
    np.testing.assert_allclose(np.array(streamed[:count]), offline[:count], atol=1e-9)
    np.testing.assert_allclose(times[:count], (np.arange(count) + 1) * hop_blocks * block / rate)


def test_feature_vector_layout():
    band_ms = np.array([[1e-2, 1e-3, 1e-4, 1e-5, 1e-6]])
    overall_ms = np.array([1e-2])
    features = feature_vector(band_ms, overall_ms)
    np.testing.assert_allclose(features, [0.0, -10.0, -20.0, -30.0, -40.0, -20.0])
