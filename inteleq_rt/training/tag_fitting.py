"""Training and evaluating the genre head on the tagger's outputs.

Every clip is tagged once (a 3 s patch every 1.5 s, cached per clip). Cross-validation is
repeated: ``REPEATS`` stratified k-fold splits, grouped by artist or source (a clip where the
corpus names neither), with seeds fixed in advance;
inside each training fold a quarter of the clips is held back to fit the temperature, so
the calibration error is measured on clips neither the head nor its temperature saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..genre.musicnn.head import TagHead, prior_weights, softmax
from ..genre.musicnn.tagger import Tagger
from ..genre.musicnn.tags import tag_file
from ..pool import Workers, map_in_order, worker_cached
from .dataset import Clip, file_cache_key, save_cache
from .head_fitting import fit_classes, fit_music, fit_temperature
from .metrics import grouped_folds, score

STEP_FRAMES = 94  # a patch every 1.5 s
REPEATS = 5
CACHE_VERSION = 2  # 2: level-normalized patches
GTZAN_RATE = 22_050


@dataclass
class TaggedClip:
    clip: Clip
    logits: np.ndarray  # (patches, tags)
    embedding: np.ndarray  # (patches, 1706)

    @property
    def examples(self) -> int:
        return len(self.logits)


def cache_path(cache_dir: Path, path: Path, tagger_folder: Path, gtzan_like: bool) -> Path:
    """Where a clip's tagger outputs are kept: new for a new clip, a new tagger (its weights'
    files, by name, size and time) or another way of hearing it."""
    tagger = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(Path(tagger_folder).iterdir())]
    return cache_dir / f"tags-{file_cache_key(path, CACHE_VERSION, 'musicnn', STEP_FRAMES, gtzan_like, tagger)}.npz"


def as_gtzan(audio: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Audio made like a GTZAN clip: mono, 22.05 kHz, 16-bit (the corpus-shortcut check)."""
    import soxr

    mono = audio.mean(axis=1)
    if rate != GTZAN_RATE:
        mono = soxr.resample(mono, rate, GTZAN_RATE)
    return (np.round(np.clip(mono, -1, 1) * 32767) / 32767).astype(np.float32)[:, None], GTZAN_RATE


def shared_tagger(folder: Path) -> Tagger:
    """The tagger, loaded once per process: each worker's, and the caller's own when the clips
    run in it (then the final fit reuses that one)."""
    from ..genre.musicnn.tagger import load_tagger

    return worker_cached(("tagger", str(folder)), lambda: load_tagger(folder))


def _tag_clip(job: tuple[Clip, Path, Path | None, bool]) -> TaggedClip | str:
    """Worker: one clip's tagger outputs (from the cache when it holds them), or its problem."""
    import soundfile as sf

    clip, tagger_folder, cache_dir, gtzan_like = job
    cached = cache_path(cache_dir, clip.path, tagger_folder, gtzan_like) if cache_dir else None
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            return TaggedClip(clip, data["logits"], data["embedding"])
    try:
        audio, rate = sf.read(str(clip.path), dtype="float32", always_2d=True)
    except Exception as error:  # reported per clip; one bad file does not stop training
        return f"{clip.path}: unreadable ({error})"
    if gtzan_like:
        audio, rate = as_gtzan(audio, rate)
    _, outputs = tag_file(audio, rate, shared_tagger(tagger_folder), STEP_FRAMES)
    if len(outputs.logits) == 0:
        return f"{clip.path}: shorter than the tagger's 3 s patch"
    if cached is not None:
        save_cache(cached, logits=outputs.logits, embedding=outputs.embedding)
    return TaggedClip(clip, outputs.logits, outputs.embedding)


def tag_clips(clips: list[Clip], tagger_folder: Path, cache_dir: Path | None, workers: Workers = Workers(),
              progress: Callable[[], None] = lambda: None, gtzan_like: bool = False
              ) -> tuple[list[TaggedClip], list[str]]:
    """The tagger's outputs on every clip (``gtzan_like``: made like a GTZAN clip first), in
    the clips' order, on ``workers`` (each loads the tagger once); problems apart."""
    outcomes = map_in_order(_tag_clip, [(c, tagger_folder, cache_dir, gtzan_like) for c in clips], workers,
                            progress)
    return [o for o in outcomes if not isinstance(o, str)], [o for o in outcomes if isinstance(o, str)]


def _stack(corpus: list[TaggedClip], classes: tuple[str, ...]):
    logits = np.concatenate([c.logits for c in corpus])
    labels = np.concatenate([np.full(len(c.logits), classes.index(c.clip.label)) for c in corpus])
    groups = np.concatenate([np.full(len(c.logits), i) for i, c in enumerate(corpus)])
    return logits, labels, groups


def fit_head_classes(logits, labels, groups, classes, tags, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights and bias on 3/4 of the clips, the temperature on the other quarter."""
    clip_ids = np.unique(groups)
    clip_labels = [labels[groups == g][0] for g in clip_ids]
    held = np.isin(groups, clip_ids[grouped_folds(clip_labels, None, 4, seed) == 0])
    weights, bias = fit_classes(logits[~held], labels[~held], prior_weights(classes, tags))
    temperature = fit_temperature(logits[held] @ weights.T + bias, labels[held])
    return weights, bias, temperature


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    confidence, predicted = probabilities.max(axis=1), probabilities.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs((predicted[inside] == labels[inside]).mean() - confidence[inside].mean())
    return float(error)


def cross_validate_head(corpus: list[TaggedClip], classes: tuple[str, ...], tags: tuple[str, ...],
                        folds: int, progress: Callable[[], None] = lambda: None) -> dict:
    """Repeated CV of the head grouped by artist or source, the zero-shot mapping beside it,
    calibration, and each corpus's clips scored apart."""
    logits, labels, groups = _stack(corpus, classes)
    clip_labels = np.array([classes.index(c.clip.label) for c in corpus])
    repeats, pooled_probabilities, pooled_labels, pooled_groups = [], [], [], []
    for seed in range(REPEATS):
        clip_fold = grouped_folds([c.clip.label for c in corpus], [c.clip.group for c in corpus], folds, seed)
        probabilities = np.zeros((len(labels), len(classes)))
        for fold in range(folds):
            test = clip_fold[groups] == fold
            weights, bias, temperature = fit_head_classes(logits[~test], labels[~test], groups[~test], classes,
                                                          tags, seed * 100 + fold)
            probabilities[test] = softmax((logits[test] @ weights.T + bias) / temperature)
            progress()
        repeats.append(_scores(probabilities, labels, groups, clip_labels, classes))
        verdicts = _clip_probabilities(probabilities, groups, len(corpus)).argmax(axis=1)
        repeats[-1]["per_corpus"] = {name: score(clip_labels[members], verdicts[members], classes).to_dict()
                                     for name, members in _corpora(corpus).items()}
        pooled_probabilities.append(probabilities)
        pooled_labels.append(labels)
        pooled_groups.append(groups + seed * len(corpus))
    zero_shot = _scores(softmax(logits @ prior_weights(classes, tags).T), labels, groups, clip_labels, classes)
    probabilities, pooled_labels = np.concatenate(pooled_probabilities), np.concatenate(pooled_labels)
    return {"folds": folds, "repeats": REPEATS, "seeds": list(range(REPEATS)),
            "summary": {key: {"mean": float(np.mean([r[key] for r in repeats])),
                              "std": float(np.std([r[key] for r in repeats]))}
                        for key in ("clip_accuracy", "clip_macro_f1", "excerpt_accuracy", "excerpt_macro_f1")},
            "calibration": _calibration(probabilities, pooled_labels, np.concatenate(pooled_groups)),
            "clips": repeats[0]["clips"], "excerpts": repeats[0]["excerpts"], "zero_shot": zero_shot,
            "per_corpus": {name: _spread_of(repeats, name) for name in _corpora(corpus)}}


def _spread_of(repeats: list[dict], name: str) -> dict:
    """One corpus's clip accuracy over the repeats, and its first repeat's scores."""
    accuracies = [r["per_corpus"][name]["accuracy"] for r in repeats]
    return {"clip_accuracy_mean": float(np.mean(accuracies)), "clip_accuracy_std": float(np.std(accuracies)),
            "first_repeat": repeats[0]["per_corpus"][name]}


def _corpora(corpus: list[TaggedClip]) -> dict[str, np.ndarray]:
    """Each corpus's clip numbers."""
    names = [c.clip.corpus for c in corpus]
    return {name: np.flatnonzero(np.array(names) == name) for name in dict.fromkeys(names)}


def _clip_probabilities(probabilities, groups, clips: int) -> np.ndarray:
    """Each clip's mean probabilities over its excerpts."""
    return np.array([probabilities[groups == g].mean(axis=0) for g in range(clips)])


def _scores(probabilities, labels, groups, clip_labels, classes) -> dict:
    clips = score(clip_labels, _clip_probabilities(probabilities, groups, len(clip_labels)).argmax(axis=1), classes)
    excerpts = score(labels, probabilities.argmax(axis=1), classes)
    return {"clip_accuracy": clips.accuracy, "clip_macro_f1": clips.macro_f1, "excerpt_accuracy": excerpts.accuracy,
            "excerpt_macro_f1": excerpts.macro_f1, "clips": clips.to_dict(), "excerpts": excerpts.to_dict()}


def _calibration(probabilities, labels, groups, draws: int = 200) -> dict:
    """Expected calibration error of 3 s excerpts, with a bootstrap interval over clips."""
    rng = np.random.default_rng(0)
    ids = np.unique(groups)
    members = {g: np.flatnonzero(groups == g) for g in ids}
    draws_ece = []
    for _ in range(draws):
        pick = np.concatenate([members[g] for g in rng.choice(ids, len(ids))])
        draws_ece.append(expected_calibration_error(probabilities[pick], labels[pick]))
    return {"ece": expected_calibration_error(probabilities, labels),
            "ece_95": [float(np.percentile(draws_ece, 2.5)), float(np.percentile(draws_ece, 97.5))]}


def fit_head(corpus: list[TaggedClip], non_music: list[np.ndarray], classes: tuple[str, ...],
             tags: tuple[str, ...], seed: int) -> TagHead:
    """The final head on every clip, and the music detector against the non-music embeddings."""
    logits, labels, groups = _stack(corpus, classes)
    weights, bias, temperature = fit_head_classes(logits, labels, groups, classes, tags, seed)
    music = np.concatenate([c.embedding for c in corpus])
    other = np.concatenate(non_music) if non_music else np.zeros((0, music.shape[1]))
    if len(other) == 0:  # no counter-examples: every input counts as music
        mean, scale, music_weights, music_bias = music.mean(0), music.std(0) + 1e-3, np.zeros(music.shape[1]), 10.0
    else:
        mean, scale, music_weights, music_bias = fit_music(music, other)
    return TagHead(classes, tags, weights, bias, temperature, mean, scale, music_weights, music_bias)
