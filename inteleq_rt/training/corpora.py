"""Outside checks of the genre head that a project with two corpora can run itself.

Cross-validation inside one corpus flatters (GTZAN's clips share artists and eras). So, with
clips from several corpora (``Clip.corpus``):

* ``cross_corpus``: a head trained on one corpus alone scores the other's clips (of the
  classes it knows; and all of them, the others counted as missed), beside the head trained
  on both, where each clip's verdict comes from a head fitted without its group (artist or
  source); each gain has a paired bootstrap interval;
* ``shortcut``: the full-band corpus's songs made like GTZAN clips (mono, 22.05 kHz, 16-bit),
  heard by the same held-out heads: if the head had learned the corpus (its channels, rate,
  word length) rather than the genre, those songs would change class. (The tagger hears
  0-8 kHz, so GTZAN's band limit is outside what it hears by construction.)
"""

from __future__ import annotations

import numpy as np

from ..genre.musicnn.head import softmax
from .metrics import grouped_folds, wilson_interval
from .tag_fitting import TaggedClip, _stack, fit_head_classes

BOOTSTRAP_DRAWS = 2000


def _verdicts(clips: list[TaggedClip], fitted: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
    """Each clip's class number: the mean of its patches' probabilities."""
    weights, bias, temperature = fitted
    return np.array([softmax((c.logits @ weights.T + bias) / temperature).mean(axis=0).argmax() for c in clips],
                    dtype=int)


def _fit(clips: list[TaggedClip], classes: tuple[str, ...], tags: tuple[str, ...], seed: int):
    logits, labels, groups = _stack(clips, classes)
    return fit_head_classes(logits, labels, groups, classes, tags, seed)


def held_out(corpus: list[TaggedClip], classes: tuple[str, ...], tags: tuple[str, ...], folds: int, seed: int,
             also: dict[int, TaggedClip] | None = None) -> tuple[np.ndarray, dict[int, int]]:
    """Every clip's class number from a head fitted on the folds without its group, and the
    same heads' verdicts on ``also`` (clip number -> another version of that clip)."""
    fold_of = grouped_folds([c.clip.label for c in corpus], [c.clip.group for c in corpus], folds, seed)
    verdicts, others = np.zeros(len(corpus), dtype=int), {}
    for fold in range(folds):
        test = np.flatnonzero(fold_of == fold)
        fitted = _fit([c for c, f in zip(corpus, fold_of) if f != fold], classes, tags, seed * 100 + fold)
        verdicts[test] = _verdicts([corpus[i] for i in test], fitted)
        extra = [i for i in test if also and i in also]
        others.update(zip(extra, _verdicts([also[i] for i in extra], fitted)))
    return verdicts, others


def _paired_gain(better: np.ndarray, worse: np.ndarray) -> list[float]:
    """95% bootstrap interval (over clips) of the difference in accuracy."""
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(better), (BOOTSTRAP_DRAWS, len(better)))
    gains = better[draws].mean(axis=1) - worse[draws].mean(axis=1)
    return [float(np.percentile(gains, 2.5)), float(np.percentile(gains, 97.5))]


def cross_corpus(corpus: list[TaggedClip], classes: tuple[str, ...], tags: tuple[str, ...],
                 held_out_verdicts: np.ndarray, seed: int = 0) -> list[dict]:
    """For each ordered pair of corpora: trained on the first alone, scored on the second's
    clips of the classes the first holds, beside the both-corpora held-out verdicts."""
    names = list(dict.fromkeys(c.clip.corpus for c in corpus))
    rows = []
    for train in names:
        own = [c for c in corpus if c.clip.corpus == train]
        known = tuple(name for name in classes if any(c.clip.label == name for c in own))
        fitted = _fit(own, known, tags, seed)
        for test in (n for n in names if n != train):
            members = [i for i, c in enumerate(corpus) if c.clip.corpus == test and c.clip.label in known]
            if not members:
                continue
            clips = [corpus[i] for i in members]
            alone = np.array([known[v] for v in _verdicts(clips, fitted)]) == np.array([c.clip.label for c in clips])
            both = held_out_verdicts[members] == np.array([classes.index(c.clip.label) for c in clips])
            per_class = {}
            for name in known:
                inside = np.array([c.clip.label == name for c in clips])
                if inside.any():
                    per_class[name] = {"clips": int(inside.sum()), "alone": int(alone[inside].sum()),
                                       "both": int(both[inside].sum())}
            everything = [i for i, c in enumerate(corpus) if c.clip.corpus == test]
            truth = np.array([classes.index(corpus[i].clip.label) for i in everything])
            both_all = held_out_verdicts[everything] == truth
            alone_all = np.isin(everything, np.array(members)[alone])
            left_out = sorted({c.clip.label for c in corpus if c.clip.corpus == test} - set(known))
            rows.append({"train": train, "test": test, "clips": len(clips), "alone_correct": int(alone.sum()),
                         "alone_95": list(wilson_interval(int(alone.sum()), len(clips))),
                         "both_correct": int(both.sum()), "both_95": list(wilson_interval(int(both.sum()), len(clips))),
                         "gain_95": _paired_gain(both.astype(float), alone.astype(float)),
                         "per_class": per_class, "classes_left_out": left_out,
                         # every clip of the test corpus: a class the first corpus lacks counts as missed
                         "all_clips": len(everything), "both_correct_all": int(both_all.sum()),
                         "gain_all_95": _paired_gain(both_all.astype(float), alone_all.astype(float))})
    return rows


def shortcut(corpus: list[TaggedClip], classes: tuple[str, ...], verdicts: np.ndarray,
             like_gtzan_verdicts: dict[int, int]) -> dict:
    """How many clips keep their held-out verdict when made like GTZAN, and the accuracy of each."""
    numbers = sorted(like_gtzan_verdicts)
    truth = np.array([classes.index(corpus[i].clip.label) for i in numbers])
    original, degraded = verdicts[numbers], np.array([like_gtzan_verdicts[i] for i in numbers])
    changed: dict[str, int] = {}
    for number, before, after in zip(numbers, original, degraded):
        if before != after:
            changed[corpus[number].clip.label] = changed.get(corpus[number].clip.label, 0) + 1
    kept = int((original == degraded).sum())
    return {"clips": len(numbers), "kept": kept, "kept_95": list(wilson_interval(kept, len(numbers))),
            "accuracy_original": float((original == truth).mean()),
            "accuracy_like_gtzan": float((degraded == truth).mean()), "changed": changed}
