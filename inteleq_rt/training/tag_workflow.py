"""The `inteleq-rt train` workflow for the default model, the head on the musicnn tagger.

``evaluate`` tags the corpora and cross-validates the head (repeated, calibrated, grouped by
artist or source, with the zero-shot mapping beside it) and, given several corpora, runs the
checks across them (corpora.py); ``save`` fits the final head and its music detector
(against the non-music recordings given), and writes the weights folder.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.config import PAPER_BANDS
from ..engine.presets import write_targets
from ..genre.musicnn.tag_model import TagGenreModel
from ..genre.musicnn.tagger import Tagger
from ..pool import Workers
from . import card, corpora, dataset
from . import tag_fitting as tag_training
from .workflow import Progress, check_folds, find_clips

TAGGER = "musicnn"


@dataclass
class TagEvaluation:
    name: str
    roots: list[Path]
    corpus: list[tag_training.TaggedClip]
    classes: tuple[str, ...]
    rates: set[int]
    scores: dict
    skipped: list[str]
    tagger: Tagger

    def report(self) -> str:
        return card.format_tag_evaluation(self.name, self.corpus, self.scores)


def evaluate(roots: list[Path], progress: Progress, tagger_folder: Path, *, mapping: Path | None = None,
             folds: int = 5, cache_dir: Path | None = None, known_genres: tuple[str, ...] = (),
             workers: Workers = Workers()) -> TagEvaluation:
    """Tag the corpora under ``roots`` on ``workers``, cross-validate the head, and with
    several corpora, check across them."""
    clips, classes, skipped, rates = find_clips(roots, mapping, known_genres)
    corpus, problems = tag_training.tag_clips(clips, tagger_folder, cache_dir, workers,
                                              progress(f"tagging {len(clips)} clips (musicnn)", len(clips)))
    tagger = tag_training.shared_tagger(tagger_folder)  # the final fit tags the non-music recordings here
    check_folds([c.clip.label for c in corpus], classes, folds)
    scores = tag_training.cross_validate_head(
        corpus, classes, tagger.tags, folds,
        progress(f"{tag_training.REPEATS} x {folds}-fold cross-validation", tag_training.REPEATS * folds))
    if len(roots) > 1:
        scores |= _across_corpora(corpus, classes, tagger_folder, tagger.tags, folds, cache_dir, workers, progress)
    return TagEvaluation("musicnn tags + genre head", list(roots), corpus, classes, rates, scores,
                         skipped + problems, tagger)


def _across_corpora(corpus, classes, tagger_folder, tags, folds, cache_dir, workers, progress) -> dict:
    """Each corpus's head on the others, and the full-band clips made like GTZAN (corpora.py)."""
    full_band = [i for i, c in enumerate(corpus) if _rate(c.clip.path) > tag_training.GTZAN_RATE]
    like_gtzan, _ = tag_training.tag_clips([corpus[i].clip for i in full_band], tagger_folder, cache_dir, workers,
                                           progress(f"tagging {len(full_band)} clips made like GTZAN", len(full_band)),
                                           gtzan_like=True)
    verdicts, like_gtzan_verdicts = corpora.held_out(corpus, classes, tags, folds, 0, dict(zip(full_band, like_gtzan)))
    return {"cross_corpus": corpora.cross_corpus(corpus, classes, tags, verdicts),
            "shortcut": corpora.shortcut(corpus, classes, verdicts, like_gtzan_verdicts)}


def _rate(path: Path) -> int:
    import soundfile as sf

    return sf.info(str(path)).samplerate


def non_music_embeddings(folder: Path | None, tagger: Tagger) -> tuple[list[np.ndarray], list[str]]:
    """The tagger's embeddings of every recording in ``folder`` (speech, noise, ...)."""
    import soundfile as sf

    from ..genre.musicnn.tags import tag_file

    if folder is None:
        return [], []
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in dataset.AUDIO_SUFFIXES)
    if not paths:
        raise dataset.DatasetError(f"{folder}: no audio files for --non-music")
    embeddings = []
    for path in paths:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        embeddings.append(tag_file(audio, rate, tagger, tag_training.STEP_FRAMES)[1].embedding)
    return embeddings, [p.name for p in paths]


def save(evaluation: TagEvaluation, output: Path, command: str, corpus_name: str, seed: int,
         non_music: Path | None, compared: list[dict] | None = None) -> None:
    """Fit the final head and write the weights folder; ``compared``: the other models'
    headline scores from the same run, for the model card."""
    embeddings, names = non_music_embeddings(non_music, evaluation.tagger)
    head = tag_training.fit_head(evaluation.corpus, embeddings, evaluation.classes, evaluation.tagger.tags, seed)
    corpus_info = card.corpus_summary(evaluation.roots, corpus_name, evaluation.corpus, evaluation.rates)
    record = {"trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": command, "corpus": corpus_info, "cross_validation": evaluation.scores,
              "non_music": {"folder": str(non_music) if non_music else None, "recordings": names},
              "patch_every_s": tag_training.STEP_FRAMES * 256 / 16000, "compared_in_the_same_run": compared or []}
    model = TagGenreModel(evaluation.tagger, head, TAGGER, record)
    model.save(output, card.tag_model_card(evaluation, record, head))
    targets = dataset.class_targets([dataset.long_term_balance_of(c.clip.path) for c in evaluation.corpus],
                                    [c.clip.label for c in evaluation.corpus], evaluation.classes)
    write_targets(output / "targets.toml", targets, PAPER_BANDS, f"{corpus_name}: {len(evaluation.corpus)} clips",
                  min(evaluation.rates) / 2)
