"""The default genre model: a head on the tagger, trained by `train`, unsure on non-music."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from inteleq_rt.engine.config import CLASSIFIER_RING_S, EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.genre.classifier import UNSURE, GenreClassifier
from inteleq_rt.genre.musicnn.head import prior_weights
from inteleq_rt.genre.weights import load_model
from inteleq_rt.resources import weights_dir

from .conftest import run_cli
from .synthetic import make_corpus, synthetic_clip


def noises(folder, rate=16000, seconds=6.0):
    """Non-music recordings the tests make: coloured noise and a hum."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    n = int(rate * seconds)
    white = rng.standard_normal(n) * 0.1
    sounds = {"white": white, "brown": np.cumsum(white) / np.sqrt(n),
              "hum": 0.3 * np.sin(2 * np.pi * 60 * np.arange(n) / rate),
              "hiss": signal.sosfilt(signal.butter(2, 3000, "highpass", fs=rate, output="sos"), white)}
    for name, x in sounds.items():
        sf.write(str(folder / f"{name}.wav"), (0.5 * x / np.abs(x).max()).astype(np.float32), rate)
    return folder


def masters(root, rate=44100):
    """A second corpus as reference-masters lays one out: folders named as classes (electronic
    among them), full band, and a manifest naming each song's artist and source."""
    rows = ["file\tartist_title\tsource_repo"]
    for number, (label, folder) in enumerate((("rock_pop", "rock"), ("jazz", "jazz"), ("electronic", "disco"))):
        (root / label).mkdir(parents=True)
        for i in range(4):
            audio = synthetic_clip(folder, 6.0, rate, 50_000 + 100 * number + i)
            if label == "electronic":  # its own balance: a sub-bass pulse under the band
                audio += 0.2 * np.sin(2 * np.pi * 45 * np.arange(len(audio)) / rate)[:, None].astype(np.float32)
            sf.write(str(root / label / f"{label}{i}.wav"), audio, rate, subtype="PCM_16")
            rows.append(f"{label}/{label}{i}.wav\tArtist {label} {i // 2} - Song {i}\towner/{label}-{i % 2}")
    (root / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.slow
def test_train_on_two_corpora_writes_a_head_with_electronic_and_checks_across_them(tmp_path):
    corpus = make_corpus(tmp_path / "genres", clips_per_class=4)
    out = tmp_path / "head"
    result = run_cli("train", str(corpus), str(masters(tmp_path / "masters")), "--folds", "2",
                     "--non-music", str(noises(tmp_path / "noise")), "-o", str(out),
                     "--cache-dir", str(tmp_path / "cache"), timeout=900)
    assert result.returncode == 0, result.stderr
    assert "5 x 2-fold" in result.stdout and "zero-shot" in result.stdout and "calibration error" in result.stdout
    assert "trained on genres alone -> masters (8 clips of its classes)" in result.stdout  # electronic: not scored
    assert "trained on masters alone -> genres (8 clips of its classes)" in result.stdout  # its rock_pop and jazz
    assert "corpus shortcut: 12 full-band clips made like GTZAN" in result.stdout
    document = json.loads((out / "model.json").read_text())
    assert document["kind"] == "tag_head" and document["tagger"] == "musicnn"
    groups = document["record"]["corpus"]["groups"]
    assert "electronic" in document["classes"] and groups == 24 + 3  # a group per synthetic clip, per masters label
    model = load_model(out)  # the tagger is found among the shipped weights
    prior = prior_weights(model.classes, model.tagger.tags)
    moved = np.abs(model.head.weights - prior).max()
    assert 0 < moved < 5  # adjusted by the corpus, not replaced
    classify = run_cli("classify", str(corpus / "jazz" / "jazz.00001.wav"), "--weights", str(out), "--tags", "--json")
    assert classify.returncode == 0, classify.stderr
    verdict = json.loads(classify.stdout)[str(corpus / "jazz" / "jazz.00001.wav")]
    assert set(verdict) == {"genre", "music", "probabilities", "tags"} and len(verdict["tags"]) == 5


def _speech(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run the tests through tests/run.sh, which installs it")
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path),
                    "Good evening. Tonight we look at the week in review, and at what comes next. " * 2], check=True)
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    room = np.random.default_rng(2).normal(scale=10 ** (-50 / 20), size=audio.shape)  # no digital silence
    return (audio + room).astype(np.float32), rate


@pytest.mark.parametrize("sound", ["speech", "noise"])
def test_non_music_never_moves_the_eq(tmp_path, sound):
    """The shipped model is unsure of speech and noise, so the EQ stays flat."""
    if sound == "speech":
        audio, rate = _speech(tmp_path)
    else:
        rate = 44100
        audio = np.random.default_rng(5).normal(scale=0.1, size=(rate * 10, 2)).astype(np.float32)
    model = load_model(weights_dir())
    engine = Engine(EngineConfig(sample_rate=rate, channels=audio.shape[1], input_ring_s=CLASSIFIER_RING_S),
                    genre="flat")
    classifier = GenreClassifier(engine.classifier_port, model)
    out = np.empty((1024, audio.shape[1]), np.float32)
    genres = set()
    for start in range(0, len(audio) - 1024, 1024):
        engine.process(audio[start : start + 1024], out)
        classifier.step()
        genres.add(engine.genre)
    assert classifier.decisions and all(d.genre == UNSURE for d in classifier.decisions)
    assert genres == {"flat"}


@pytest.mark.slow
def test_audio_at_16_khz_is_classified(tmp_path):
    from inteleq_rt.demo import demo_clip

    audio, rate = demo_clip(seconds=8.0, sample_rate=16000)
    sf.write(str(tmp_path / "low.wav"), audio, rate)
    result = run_cli("classify", str(tmp_path / "low.wav"))
    assert result.returncode == 0, result.stderr
    assert "music" in result.stdout


@pytest.mark.slow
def test_the_demo_groove_is_electronic_end_to_end(tmp_path):
    """The demo is made to be electronic music: the shipped model hears it so with a margin
    (re-checked whenever the model changes), `classify` and `process` say so, the range EQ
    uses electronic's range, and a folder run's summary counts it."""
    from inteleq_rt.demo import demo_clip
    from inteleq_rt.genre.musicnn.tags import tag_file

    audio, rate = demo_clip()
    model = load_model(weights_dir())
    _, outputs = tag_file(audio, rate, model.tagger, 94)
    probabilities = dict(zip(model.classes, model.head.probabilities(outputs.logits).mean(axis=0)))
    runner_up = max(p for name, p in probabilities.items() if name != "electronic")
    assert probabilities["electronic"] - runner_up > 0.4 and model.head.music(outputs.embedding).mean() > 0.7
    folder = tmp_path / "music"
    folder.mkdir()
    sf.write(str(folder / "groove.wav"), audio, rate, subtype="PCM_24")
    classify = run_cli("classify", str(folder / "groove.wav"), "--json")
    assert classify.returncode == 0 and json.loads(classify.stdout)[str(folder / "groove.wav")]["genre"] == "electronic"
    one = run_cli("process", str(folder / "groove.wav"), "-o", str(tmp_path / "one.wav"))
    assert one.returncode == 0, one.stderr
    assert "electronic: the whole track heard as electronic" in one.stdout and "electronic's range" in one.stdout
    many = run_cli("process", str(folder), "-o", str(tmp_path / "out"))
    assert many.returncode == 0, many.stderr
    assert re.search(r"electronic\s+1\s+100%", many.stdout), many.stdout


def test_a_new_tagger_or_a_changed_clip_is_a_new_cache_entry(tmp_path):
    from inteleq_rt.training.tag_fitting import cache_path

    tagger, clip = tmp_path / "tagger", tmp_path / "clip.wav"
    tagger.mkdir()
    (tagger / "weights.msgpack").write_bytes(b"old")
    clip.write_bytes(b"RIFF")
    first = cache_path(tmp_path, clip, tagger, False)
    assert cache_path(tmp_path, clip, tagger, False) == first
    assert cache_path(tmp_path, clip, tagger, True) != first  # heard as GTZAN: another entry
    (tagger / "weights.msgpack").write_bytes(b"newer")
    second = cache_path(tmp_path, clip, tagger, False)
    assert second != first
    clip.write_bytes(b"RIFF and more")
    assert cache_path(tmp_path, clip, tagger, False) != second


@pytest.mark.slow
def test_a_long_file_is_heard_in_at_most_max_windows_spread_over_it(tmp_path):
    """Every window of a short file, at most MAX_WINDOWS evenly spaced windows of a long one
    (the demo groove looped: the verdict is the short file's)."""
    from inteleq_rt.demo import demo_clip
    from inteleq_rt.genre import whole_file
    from inteleq_rt.genre.weights import load_genre_model

    model = load_genre_model(None)
    heard_at = []
    listen = model.heard

    def counted(tracker):
        heard_at.append(tracker.seconds)
        return listen(tracker)

    model.heard = counted  # the real model, its windows counted
    audio, rate = demo_clip(seconds=12.0, sample_rate=16000)
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(str(short), audio, rate)
    sf.write(str(long), np.tile(audio, (13, 1)), rate)  # 156 s: 52 windows of 3 s
    verdict = whole_file.classify_file(short, model)
    assert len(heard_at) == 4
    heard_at.clear()
    assert whole_file.classify_file(long, model).genre == verdict.genre
    assert len(heard_at) == 26 <= whole_file.MAX_WINDOWS  # every other window
    assert heard_at[-1] > 150.0 and np.allclose(np.diff(heard_at), 6.0, atol=0.05)
