"""Splits and scores: grouped stratified folds, accuracy, macro-F1, confidence intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

def grouped_folds(labels: list, groups: list | None, folds: int, seed: int) -> np.ndarray:
    """A fold number per clip, stratified by class, every group (an artist, a source: see
    dataset.discover) in one fold, by scikit-learn's StratifiedGroupKFold. Without groups
    (each clip its own), each class's clips are shuffled and dealt round-robin, which also
    serves a class smaller than the folds."""
    rng = np.random.default_rng(seed)
    assignment = np.zeros(len(labels), dtype=int)
    if groups is None:
        for label in sorted(set(labels)):
            members = np.flatnonzero(np.array(labels) == label)
            rng.shuffle(members)
            assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
        return assignment
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    with warnings.catch_warnings():  # a class smaller than the folds is allowed: its folds go short
        warnings.simplefilter("ignore", UserWarning)
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(
            np.zeros(len(labels)), [str(label) for label in labels], [str(group) for group in groups])
        for fold, (_, test) in enumerate(splits):
            assignment[test] = fold
    return assignment


@dataclass
class Scores:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class, columns: predicted)."""

    confusion: np.ndarray
    classes: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.confusion.sum(), 1))

    def per_class(self) -> dict[str, dict[str, float]]:
        out = {}
        for i, name in enumerate(self.classes):
            support = int(self.confusion[i].sum())
            predicted = self.confusion[:, i].sum()
            precision = self.confusion[i, i] / predicted if predicted else 0.0
            recall = self.confusion[i, i] / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": support}
        return out

    @property
    def macro_f1(self) -> float:
        return float(np.mean([c["f1"] for c in self.per_class().values()]))

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "per_class": self.per_class(),
                "confusion": self.confusion.tolist(), "classes": list(self.classes)}


def score(true: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...]) -> Scores:
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(confusion, (true, predicted), 1)
    return Scores(confusion, classes)


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval of a proportion (Wilson score), honest for small supports."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)
