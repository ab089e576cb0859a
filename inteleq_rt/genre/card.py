"""What a training run reports: the evaluation as tables, and the model card beside the weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import ClipFeatures
from .fitting import Recipe
from .metrics import wilson_interval


def corpus_summary(root: Path, name: str, corpus: list, rates: set[int]) -> dict:
    per_class: dict[str, dict] = {}
    for item in corpus:
        entry = per_class.setdefault(item.clip.label, {"clips": 0, "examples": 0, "folders": {}})
        entry["clips"] += 1
        entry["examples"] += item.examples
        entry["folders"][item.clip.folder] = entry["folders"].get(item.clip.folder, 0) + 1
    return {"name": name, "path": str(root), "clips": len(corpus), "examples": int(sum(c.examples for c in corpus)),
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
softmax over {', '.join(evaluation['clips']['classes'])}. Features come from IntelEQ-RT's streaming filterbank
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


def format_tag_evaluation(name: str, corpus: list, scores: dict) -> str:
    """The head's repeated CV: means and spreads, per-class tables, calibration, zero-shot."""
    summary, calibration, zero = scores["summary"], scores["calibration"], scores["zero_shot"]

    def spread(key: str) -> str:
        return f"{summary[key]['mean']:.3f} +/- {summary[key]['std']:.3f}"

    lines = [f"{name}: {len(corpus)} clips, {sum(c.examples for c in corpus)} 3-s excerpts; "
             f"{scores['repeats']} x {scores['folds']}-fold clip-grouped stratified cross-validation "
             f"(seeds {scores['seeds']}), mean +/- spread over the repeats",
             f"  per clip:    accuracy {spread('clip_accuracy')}  macro-F1 {spread('clip_macro_f1')}",
             f"  per excerpt: accuracy {spread('excerpt_accuracy')}  macro-F1 {spread('excerpt_macro_f1')}",
             f"  calibration (temperature fitted inside each training fold): expected calibration error "
             f"{calibration['ece']:.3f} (95% bootstrap {calibration['ece_95'][0]:.3f}-{calibration['ece_95'][1]:.3f})",
             "  per clip, first repeat:", *_table(scores["clips"]),
             f"  zero-shot (the tagger's genre tags mapped to classes, no training): clip accuracy "
             f"{zero['clip_accuracy']:.3f}, macro-F1 {zero['clip_macro_f1']:.3f}, excerpt accuracy "
             f"{zero['excerpt_accuracy']:.3f}"]
    return "\n".join(lines)


def tag_model_card(evaluation, record: dict, head) -> str:
    corpus_info = record["corpus"]
    counts = ", ".join(f"{label} {v['clips']}" for label, v in corpus_info["per_class"].items())
    non_music = record["non_music"]
    return f"""# {evaluation.name}: genre classifier for IntelEQ-RT (the default)

Made {record['trained']} by `{record['command']}`.

## What it is
The musicnn tagger (MSD_musicnn: Pons & Serra, Music Technology Group, Universitat Pompeu
Fabra; ISC license, see weights/musicnn/LICENSE.musicnn), pretrained on the Million Song
Dataset's 50 most common tags, ported to flax. It hears a 3 s, 96-band log-mel patch of the
16 kHz mono downmix. Its 50 tag log-odds feed a linear genre head whose weights start from a
zero-shot mapping of its genre tags to the classes (rock_pop <- rock, pop, metal, blues, ...;
country <- country, folk; jazz <- jazz; hiphop <- Hip-Hop, rnb; disco <- dance, funk, soul;
classical <- instrumental) and move only as far as the corpus insists (L2 pull to the mapping),
with a temperature for calibrated probabilities. Classes: {', '.join(evaluation.classes)}.

Beside the classes: a music detector (logistic, on the tagger's 1706-value embedding) trained
on the corpus against {len(non_music['recordings'])} non-music recordings ({non_music['folder']}),
below one half the classifier says "unsure" and the EQ holds; and an electronic score (mean
log-odds of the tags {', '.join(head.to_dict()['electronic']['tags'])}) with its threshold at
{head.electronic_threshold:.3f}, the 97.5th percentile over the corpus's excerpts: the corpus
holds no electronic music, so the threshold is set to let at most 2.5% of its excerpts through,
and electronic music is judged only outside the corpus (benchmarks/outside_check.py).

## Training data
{corpus_info['name']} (from {corpus_info['path']}): {corpus_info['clips']} clips ({counts}),
a 3 s patch every {record['patch_every_s']:g} s.

## Evaluation
```
{format_tag_evaluation(evaluation.name, evaluation.corpus, evaluation.scores)}
```

{_comparison(record.get("compared_in_the_same_run", []))}
## What it can and cannot do
- {_size_caveat(corpus_info)}
- GTZAN's clips share artists and eras, so cross-validation flatters; the tagger's knowledge
  (kept by the pull to the zero-shot mapping) is what carries to songs outside the corpus.
- It needs audio sampled at 16 kHz or more. Music outside the six classes with weak evidence
  is "unsure" (the EQ holds), electronic music is named as such.
"""


def _comparison(rows: list[dict]) -> str:
    """The models evaluated beside this one in the same training run, as a table."""
    if len(rows) < 2:
        return ""
    lines = ["## Beside it, in the same run", "", "| model | clip accuracy | clip macro-F1 | excerpt accuracy |",
             "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['clip_accuracy']:.3f} | {r['clip_macro_f1']:.3f} | {r['excerpt_accuracy']:.3f} |"
              for r in rows]
    return "\n".join(lines) + "\n\nThe filterbank model's own card, with its per-class intervals: weights/gtzan/MODEL_CARD.md.\n"
