"""Training and evaluation: corpus -> features (cached, parallel) -> cross-validated network.

The pipeline is a few pure functions plus loops: ``discover`` finds labelled clips,
``extract_corpus`` runs the streaming feature code over each whole clip, ``cross_validate``
scores a recipe with clip-grouped stratified folds (no excerpt of a song in both train and
test), ``fit`` trains one network, and ``measure_targets`` computes each class's long-term
tonal balance for match mode.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import PAPER_BANDS
from .features import STATISTICS, FeatureSpec, clip_bands, extract_features
from .filterbank import FilterBank, band_set
from .model import CLASSES, Architecture

GTZAN_MAPPING = {
    "rock": "rock_pop", "pop": "rock_pop", "blues": "rock_pop", "reggae": "rock_pop", "metal": "rock_pop",
    "classical": "classical", "country": "country", "hiphop": "hiphop", "jazz": "jazz", "disco": "disco",
}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".au", ".mp3", ".opus", ".w64", ".caf"}
CACHE_VERSION = 3  # bump when feature semantics change without the spec changing


class DatasetError(ValueError):
    """A corpus that cannot be trained on, worded for the user."""


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    folder: str


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
class ClipFeatures:
    clip: Clip
    features: np.ndarray  # (examples, size)
    balance_db: np.ndarray  # long-term band levels re overall, on the target bands
    sample_rate: int


def discover(root: Path, mapping: dict[str, str] | None = None) -> tuple[list[Clip], list[str]]:
    """Labelled clips under ``root/<folder>/``, and the folders the mapping does not cover."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder of genre folders")
    mapping = mapping or GTZAN_MAPPING
    clips, unmapped = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in mapping:
            unmapped.append(folder.name)
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in AUDIO_SUFFIXES:
                clips.append(Clip(path, mapping[folder.name], folder.name))
    if not clips:
        raise DatasetError(f"{root}: no audio files in folders named {', '.join(sorted(mapping))}")
    missing = sorted(set(mapping.values()) - {c.label for c in clips})
    if missing:
        raise DatasetError(f"{root}: no clips for class(es) {', '.join(missing)}")
    return clips, unmapped


def read_mapping(path: Path) -> dict[str, str]:
    """A TOML file of `folder = "class"` lines; classes must be the model's six."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DatasetError(f"{path}: cannot read mapping: {error}") from None
    for folder, label in data.items():
        if label not in CLASSES:
            raise DatasetError(f"{path}: {folder}: class {label!r} is not one of {', '.join(CLASSES)}")
    return dict(data)


# -- features ---------------------------------------------------------------------------------
def _cache_key(path: Path, spec: FeatureSpec, every_s: float) -> str:
    stat = path.stat()
    identity = json.dumps([CACHE_VERSION, str(path.resolve()), stat.st_size, stat.st_mtime_ns,
                           spec.to_dict(), every_s, [list(b) for b in PAPER_BANDS]])
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "inteleq-rt" / "features"


def long_term_balance(audio: np.ndarray, sample_rate: int, bands=PAPER_BANDS, hop_s: float = 0.1) -> np.ndarray:
    """A clip's long-term band power relative to its overall power (dB), like an LTAS."""
    bank = FilterBank(bands, sample_rate, audio.shape[1], 0.4)
    hop = int(hop_s * sample_rate)
    band_sum, overall_sum = np.zeros(len(bands)), 0.0
    for start in range(0, audio.shape[0] - hop + 1, hop):
        bank.process(audio[start : start + hop])
        band_sum += bank.band_ms.mean(axis=0)
        overall_sum += bank.overall_ms.mean()
    return 10 * np.log10(np.maximum(band_sum, 1e-30) / max(overall_sum, 1e-30))


def _clip_features(job: tuple[Clip, FeatureSpec, float, Path | None]) -> ClipFeatures | str:
    """Worker: one clip's examples and balance, from the cache when it is there."""
    import soundfile as sf

    clip, spec, every_s, cache_dir = job
    cached = cache_dir / f"{_cache_key(clip.path, spec, every_s)}.npz" if cache_dir else None
    if cached is not None and cached.is_file():
        with np.load(cached) as data:
            return ClipFeatures(clip, data["features"], data["balance"], int(data["rate"]))
    try:
        audio, rate = sf.read(str(clip.path), dtype="float32", always_2d=True)
    except Exception as error:  # reported per clip; one bad file does not stop training
        return f"{clip.path}: unreadable ({error})"
    _, features = extract_features(audio, rate, spec, every_s)
    if len(features) == 0:
        return f"{clip.path}: shorter than the {spec.stats_window_s:g} s warm-up"
    balance = long_term_balance(audio, rate)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.stem}.{os.getpid()}.npz")
        np.savez(temporary, features=features, balance=balance, rate=rate)
        os.replace(temporary, cached)
    return ClipFeatures(clip, features, balance, rate)


def extract_corpus(clips: list[Clip], spec: FeatureSpec, every_s: float, cache_dir: Path | None,
                   workers: int | None = None, progress=None) -> tuple[list[ClipFeatures], list[str]]:
    """Features of every clip, in parallel across cores; returns results and per-clip problems."""
    jobs = [(clip, spec, every_s, cache_dir) for clip in clips]
    results, problems = [], []
    workers = workers or os.cpu_count() or 1
    # spawn, not fork: a forked child of a process where JAX already started threads can deadlock
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for outcome in pool.map(_clip_features, jobs, chunksize=4):
            (problems if isinstance(outcome, str) else results).append(outcome)
            if progress is not None:
                progress()
    return results, problems


# -- splits and metrics -----------------------------------------------------------------------
def stratified_clip_folds(labels: list[str], folds: int, seed: int) -> np.ndarray:
    """A fold number per clip: each class's clips shuffled and dealt round-robin."""
    rng = np.random.default_rng(seed)
    assignment = np.zeros(len(labels), dtype=int)
    for label in sorted(set(labels)):
        members = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(members)
        assignment[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
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


# -- training ---------------------------------------------------------------------------------
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

    from .model import build_network

    clip_labels = {g: l for g, l in zip(groups, y)}
    clip_ids = np.array(sorted(clip_labels))
    held = stratified_clip_folds([clip_labels[g] for g in clip_ids], 7, seed) == 0
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
                   classes: tuple[str, ...] = CLASSES, progress=None) -> dict:
    """Clip-grouped stratified k-fold: scores per excerpt and per clip (mean probabilities)."""
    x, y, groups = stack(corpus, classes)
    clip_fold = stratified_clip_folds([c.clip.label for c in corpus], folds, seed)
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


def measure_targets(corpus: list[ClipFeatures], classes: tuple[str, ...] = CLASSES) -> dict[str, dict]:
    """Each class's mean long-term balance (dB re overall) and its spread across clips."""
    targets = {}
    for name in classes:
        rows = np.array([c.balance_db for c in corpus if c.clip.label == name])
        if len(rows):
            targets[name] = {"levels_db": rows.mean(axis=0), "spread_db": rows.std(axis=0), "clips": len(rows)}
    return targets


# -- recipes and reports ----------------------------------------------------------------------
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


def corpus_summary(root: Path, name: str, corpus: list[ClipFeatures], rates: set[int]) -> dict:
    per_class: dict[str, dict] = {}
    for item in corpus:
        entry = per_class.setdefault(item.clip.label, {"clips": 0, "examples": 0, "folders": {}})
        entry["clips"] += 1
        entry["examples"] += len(item.features)
        entry["folders"][item.clip.folder] = entry["folders"].get(item.clip.folder, 0) + 1
    return {"name": name, "path": str(root), "clips": len(corpus), "examples": int(sum(len(c.features) for c in corpus)),
            "sample_rates": sorted(rates), "per_class": per_class}


def _table(scores: dict) -> list[str]:
    classes = scores["classes"]
    lines = [f"    {'class':<10} {'support':>7} {'recall':>7} {'95% CI':>13} {'precision':>9} {'F1':>5}"]
    confusion = np.array(scores["confusion"])
    for i, name in enumerate(classes):
        c = scores["per_class"][name]
        low, high = wilson_interval(int(confusion[i, i]), c["support"])
        lines.append(f"    {name:<10} {c['support']:>7} {c['recall']:>7.2f} {f'{low:.2f}-{high:.2f}':>13} "
                     f"{c['precision']:>9.2f} {c['f1']:>5.2f}")
    lines.append("    confusion (rows: true, columns: predicted " + " ".join(n[:4] for n in classes) + ")")
    lines += ["    " + f"{name[:10]:<10} " + " ".join(f"{v:>4}" for v in row) for name, row in zip(classes, confusion)]
    return lines


def format_evaluation(name: str, recipe: Recipe, corpus: list[ClipFeatures], evaluation: dict) -> str:
    clips, excerpts = evaluation["clips"], evaluation["excerpts"]
    total = sum(len(c.features) for c in corpus)
    lines = [f"{name}: {recipe.spec.size} features, hidden {list(recipe.architecture.hidden)} "
             f"{recipe.architecture.activation}; {len(corpus)} clips, {total} excerpts, "
             f"{evaluation['folds']}-fold clip-grouped stratified cross-validation (seed {evaluation['seed']})",
             f"  per clip    (mean probability over its excerpts): accuracy {clips['accuracy']:.3f}  "
             f"macro-F1 {clips['macro_f1']:.3f}",
             *_table(clips),
             f"  per excerpt (one decision every {recipe.example_every_s:g} s): accuracy {excerpts['accuracy']:.3f}  "
             f"macro-F1 {excerpts['macro_f1']:.3f}",
             *_table(excerpts),
             "  per fold (excerpts): " + ", ".join(
                 f"{f['excerpt_accuracy']:.2f}/{f['excerpt_macro_f1']:.2f}" for f in evaluation["per_fold"])
             + "  (accuracy/macro-F1)"]
    return "\n".join(lines)


def _size_caveat(corpus_info: dict) -> str:
    smallest = min(v["clips"] for v in corpus_info["per_class"].values())
    if smallest >= 50:
        return (f"Every class has at least {smallest} clips; the 95% intervals above say how far the "
                "per-class numbers can be trusted.")
    return (f"Trained on a small corpus (the smallest class has {smallest} clips): per-class numbers carry "
            "wide confidence\n  intervals (shown above), and if those clips come from few artists the "
            "scores measure how well it\n  separates these recordings more than how it generalizes to a genre.")


def model_card(name: str, record: dict, recipe: Recipe, corpus: list[ClipFeatures], evaluation: dict) -> str:
    corpus_info = record["corpus"]
    counts = ", ".join(f"{label} {v['clips']} clips ({', '.join(f'{f} {n}' for f, n in v['folders'].items())})"
                       for label, v in corpus_info["per_class"].items())
    return f"""# {name}: genre classifier for IntelEQ-RT

Made {record['trained']} by `{record['command']}`.

## What it is
An MLP over {recipe.spec.size} features ({', '.join(recipe.spec.statistics)} of {len(recipe.spec.bands)} band
levels relative to the overall level, plus the overall level), hidden layers
{list(recipe.architecture.hidden)} ({recipe.architecture.activation}, dropout {recipe.architecture.dropout}),
softmax over {', '.join(CLASSES)}. Features come from IntelEQ-RT's streaming filterbank
(RMS window {recipe.spec.rms_window_s} s, statistics over {recipe.spec.stats_window_s} s, updated every
{recipe.spec.hop_s} s); bands stop at {recipe.spec.bands[-1][1]:g} Hz because the corpus holds nothing higher.

## Training data
{corpus_info['name']} (from {corpus_info['path']}): {corpus_info['clips']} clips, {corpus_info['examples']} excerpts (one every
{recipe.example_every_s:g} s after a {recipe.spec.stats_window_s:g} s warm-up), sample rates {corpus_info['sample_rates']} Hz.
Per class: {counts}.

## Evaluation
{evaluation['folds']}-fold cross-validation, stratified by class, grouped by clip (every excerpt of a clip is in
the same fold, so no song is in both training and test), seed {evaluation['seed']}. Class-balanced loss, early
stopping on 1/7 of the training clips.

```
{format_evaluation(name, recipe, corpus, evaluation)}
```

## What it can and cannot do
- {_size_caveat(corpus_info)}
- It hears nothing above {recipe.spec.bands[-1][1]:g} Hz and only long-term spectral balance and its
  movement: no rhythm, harmony or timbre detail. Genres with similar balance (rock/pop vs country,
  disco vs hip hop) are where it errs.
- Use it to steer an EQ gently (crossfades, hysteresis), not to label music.

The final weights were trained on all clips ({record['final_epochs']} epochs, early-stopped).
"""
