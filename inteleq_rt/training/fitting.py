"""Fitting and scoring a genre network: a few pure functions plus a loop.

``fit`` trains one network (class-balanced, early-stopped), ``cross_validate`` scores a
recipe with clip-grouped stratified folds (no excerpt of a song in both train and test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.config import PAPER_BANDS, band_set
from ..genre.filterbank.features import STATISTICS, FeatureSpec, clip_bands
from ..genre.filterbank.model import Architecture
from .dataset import ClipFeatures
from .metrics import grouped_folds, score


@dataclass(frozen=True)
class Recipe:
    """What to train: the features and the network, plus the optimizer's settings."""

    spec: FeatureSpec
    architecture: Architecture
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    max_epochs: int = 600
    patience: int = 60
    example_every_s: float = 1.0


@dataclass
class Fitted:
    network: object
    mean: np.ndarray
    scale: np.ndarray
    epochs: int


def fit(x: np.ndarray, y: np.ndarray, groups: np.ndarray, recipe: Recipe, classes: int, seed: int) -> Fitted:
    """Train one network: class-balanced cross-entropy, AdamW, early stopping on a held-out
    1/7 of the clips (stratified), keeping the best validation parameters."""
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from ..genre.filterbank.model import build_network

    clip_labels = {g: l for g, l in zip(groups, y)}
    clip_ids = np.array(sorted(clip_labels))
    held = grouped_folds([clip_labels[g] for g in clip_ids], None, 7, seed) == 0
    validation = np.isin(groups, clip_ids[held])
    mean = x[~validation].mean(axis=0)
    scale = x[~validation].std(axis=0) + 1e-3
    xs = jnp.asarray((x - mean) / scale, dtype=jnp.float32)
    counts = np.bincount(y, minlength=classes).astype(float)
    class_weight = np.where(counts > 0, len(y) / (classes * np.maximum(counts, 1)), 0.0)
    weights = jnp.asarray(class_weight[y], dtype=jnp.float32)
    labels = jnp.asarray(y)
    train_mask = jnp.asarray(~validation, dtype=jnp.float32)
    val_mask = jnp.asarray(validation, dtype=jnp.float32)

    network = build_network(x.shape[1], classes, recipe.architecture, seed)
    optimizer = nnx.Optimizer(
        network, optax.adamw(recipe.learning_rate, weight_decay=recipe.weight_decay), wrt=nnx.Param)

    def weighted_loss(model, mask):
        losses = optax.softmax_cross_entropy_with_integer_labels(model(xs), labels) * weights * mask
        return losses.sum() / jnp.maximum((weights * mask).sum(), 1e-9)

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(weighted_loss)(model, train_mask)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def validation_loss(model):
        return weighted_loss(model, val_mask)

    def parameters():
        return nnx.to_pure_dict(nnx.state(network, nnx.Param))

    best, best_params, since_best, epoch = math.inf, parameters(), 0, 0
    for epoch in range(1, recipe.max_epochs + 1):
        network.train()
        train_step(network, optimizer)
        network.eval()
        loss = float(validation_loss(network))
        if loss < best - 1e-4:
            best, best_params, since_best = loss, parameters(), 0
        else:
            since_best += 1
            if since_best >= recipe.patience:
                break
    state = nnx.state(network, nnx.Param)
    nnx.replace_by_pure_dict(state, best_params)
    nnx.update(network, state)
    network.eval()
    return Fitted(network, mean, scale, epoch)


def predict(fitted: Fitted, x: np.ndarray) -> np.ndarray:
    """Class probabilities for a batch of feature vectors."""
    import jax

    fitted.network.eval()
    return np.asarray(jax.nn.softmax(fitted.network(((x - fitted.mean) / fitted.scale).astype(np.float32)), -1))


def stack(corpus: list[ClipFeatures], classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Examples, their class indexes, and the clip (group) each came from."""
    x = np.concatenate([c.features for c in corpus])
    y = np.concatenate([np.full(len(c.features), classes.index(c.clip.label)) for c in corpus])
    groups = np.concatenate([np.full(len(c.features), i) for i, c in enumerate(corpus)])
    return x, y, groups


def cross_validate(corpus: list[ClipFeatures], recipe: Recipe, folds: int, seed: int,
                   classes: tuple[str, ...], progress=None) -> dict:
    """Stratified k-fold grouped by artist or source (dataset.discover): scores per excerpt and
    per clip (mean probabilities)."""
    x, y, groups = stack(corpus, classes)
    clip_fold = grouped_folds([c.clip.label for c in corpus], [c.clip.group for c in corpus], folds, seed)
    fold_of_example = clip_fold[groups]
    example_pred = np.zeros(len(y), dtype=int)
    clip_true = np.array([classes.index(c.clip.label) for c in corpus])
    clip_pred = np.zeros(len(corpus), dtype=int)
    per_fold = []
    for fold in range(folds):
        test = fold_of_example == fold
        fitted = fit(x[~test], y[~test], groups[~test], recipe, len(classes), seed + fold)
        probabilities = predict(fitted, x[test])
        example_pred[test] = probabilities.argmax(axis=1)
        test_groups = groups[test]
        for clip in np.unique(test_groups):
            clip_pred[clip] = probabilities[test_groups == clip].mean(axis=0).argmax()
        fold_scores = score(y[test], example_pred[test], classes)
        per_fold.append({"fold": fold, "examples": int(test.sum()), "clips": int((clip_fold == fold).sum()),
                         "epochs": fitted.epochs, "excerpt_accuracy": fold_scores.accuracy,
                         "excerpt_macro_f1": fold_scores.macro_f1, "confusion": fold_scores.confusion.tolist()})
        if progress is not None:
            progress()
    return {"folds": folds, "seed": seed, "per_fold": per_fold,
            "excerpts": score(y, example_pred, classes).to_dict(),
            "clips": score(clip_true, clip_pred, classes).to_dict()}


def baseline_recipe(corpus_max_hz: float) -> Recipe:
    """The IntelEQ paper: five band levels plus overall level -> 12 tanh -> 6 softmax."""
    spec = FeatureSpec(bands=clip_bands(PAPER_BANDS, corpus_max_hz), statistics=("level",))
    return Recipe(spec, Architecture((12,), "tanh"))


def default_recipe(corpus_max_hz: float) -> Recipe:
    """More bands (1/3 octave) and their statistics over seconds, as the paper proposed."""
    spec = FeatureSpec(bands=clip_bands(band_set("third-octave"), corpus_max_hz), statistics=STATISTICS)
    return Recipe(spec, Architecture((64,), "gelu", dropout=0.5), weight_decay=1e-3)


def recipe_summary(recipe: Recipe) -> dict:
    return {"features": recipe.spec.to_dict(), "feature_count": recipe.spec.size,
            "architecture": recipe.architecture.to_dict(), "learning_rate": recipe.learning_rate,
            "weight_decay": recipe.weight_decay, "max_epochs": recipe.max_epochs, "patience": recipe.patience,
            "example_every_s": recipe.example_every_s}
