"""The `inteleq-rt train` workflow for the filterbank model (and the paper's network):
corpus -> features -> evaluation -> weights; ``find_clips`` and ``check_folds`` serve both models.

``evaluate`` finds and featurizes the corpus and cross-validates a recipe; ``save`` fits the
final network on every clip and writes the weights folder (model.json, params.msgpack,
MODEL_CARD.md) with the genres' measured target balances beside it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine.config import PAPER_BANDS
from ..engine.presets import write_targets
from ..genre.filterbank.model import GenreModel
from ..pool import Workers
from . import card, dataset, fitting

# progress(what, total) -> a function to call once per finished item
Progress = Callable[[str, int], Callable[[], None]]


@dataclass
class Evaluation:
    """A corpus, the recipe tried on it and what cross-validation scored."""

    name: str
    roots: list[Path]
    recipe: fitting.Recipe
    corpus: list[dataset.ClipFeatures]
    classes: tuple[str, ...]
    rates: set[int]
    scores: dict
    skipped: list[str]

    def report(self) -> str:
        return card.format_evaluation(self.name, self.recipe, self.corpus, self.scores)


def find_clips(roots: list[Path], mapping: Path | None, known_genres: tuple[str, ...]):
    """The labelled clips of every corpus, their classes, the folders with no class, and the
    sample rates."""
    import soundfile as sf

    folders = dataset.read_mapping(mapping) if mapping else None
    clips, unmapped = [], []
    for root in roots:
        found, skipped = dataset.discover(root, folders)
        clips += found
        unmapped += [f"{Path(root).name}/{name}" for name in skipped]
    classes = dataset.classes_of(clips)
    no_preset = [name for name in classes if known_genres and name not in known_genres]
    if no_preset:
        raise dataset.DatasetError(f"class(es) {', '.join(no_preset)} have no preset; add presets/NAME.toml")
    return clips, classes, [f"folder {folder}: no class" for folder in unmapped], \
        {sf.info(str(c.path)).samplerate for c in clips}


def check_folds(labels: list[str], classes: tuple[str, ...], folds: int) -> None:
    short = [name for name in classes if labels.count(name) < folds]
    if short:
        raise dataset.DatasetError(f"every class needs at least {folds} clips for {folds}-fold "
                                   f"cross-validation (short: {', '.join(short)})")


def evaluate(roots: list[Path], progress: Progress, *, mapping: Path | None = None, baseline: bool = False,
             folds: int = 5, seed: int = 0, workers: Workers = Workers(), cache_dir: Path | None = None,
             known_genres: tuple[str, ...] = ()) -> Evaluation:
    """Featurize the corpora under ``roots`` and cross-validate the filterbank (or the paper's) recipe."""
    clips, classes, skipped, rates = find_clips(roots, mapping, known_genres)
    make = fitting.baseline_recipe if baseline else fitting.default_recipe
    recipe = make(min(rates) / 2)
    corpus, problems = dataset.extract_corpus(clips, recipe.spec, recipe.example_every_s, cache_dir, workers,
                                              progress(f"filterbank features of {len(clips)} clips", len(clips)))
    check_folds([c.clip.label for c in corpus], classes, folds)
    scores = fitting.cross_validate(corpus, recipe, folds, seed, classes,
                                    progress(f"{folds}-fold cross-validation", folds))
    name = "baseline (paper 6-12-6)" if baseline else "filterbank model (1/3-octave MLP)"
    return Evaluation(name, list(roots), recipe, corpus, classes, rates, scores, skipped + problems)


def save(evaluation: Evaluation, output: Path, command: str, corpus_name: str, seed: int) -> None:
    """Fit the final network on every clip and write the weights folder and its targets."""
    corpus, recipe, classes = evaluation.corpus, evaluation.recipe, evaluation.classes
    x, y, groups = fitting.stack(corpus, classes)
    fitted = fitting.fit(x, y, groups, recipe, len(classes), seed)
    record = {
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "corpus": card.corpus_summary(evaluation.roots, corpus_name, corpus, evaluation.rates),
        "recipe": fitting.recipe_summary(recipe),
        "cross_validation": evaluation.scores,
        "final_epochs": fitted.epochs,
    }
    model = GenreModel(fitted.network, recipe.spec, fitted.mean, fitted.scale, classes, recipe.architecture, record)
    model.save(output, card.model_card(evaluation.name, record, recipe, corpus, evaluation.scores))
    targets = dataset.class_targets([c.balance_db for c in corpus], [c.clip.label for c in corpus], classes)
    write_targets(output / "targets.toml", targets, PAPER_BANDS,
                  f"{corpus_name}: {len(corpus)} clips", min(evaluation.rates) / 2)
