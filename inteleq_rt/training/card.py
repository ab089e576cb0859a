"""What a training run reports: the evaluation as tables, and the model card beside the weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import ClipFeatures
from .fitting import Recipe
from .metrics import wilson_interval


def corpus_summary(roots: list[Path], name: str, corpus: list, rates: set[int]) -> dict:
    per_class: dict[str, dict] = {}
    for item in corpus:
        entry = per_class.setdefault(item.clip.label, {"clips": 0, "examples": 0, "folders": {}})
        entry["clips"] += 1
        entry["examples"] += item.examples
        folder = f"{item.clip.corpus}/{item.clip.folder}" if len(roots) > 1 else item.clip.folder
        entry["folders"][folder] = entry["folders"].get(folder, 0) + 1
    return {"name": name, "path": " + ".join(str(root) for root in roots), "clips": len(corpus),
            "examples": int(sum(c.examples for c in corpus)), "groups": len({c.clip.group for c in corpus}),
            "sample_rates": sorted(rates), "per_class": per_class}


def _table(scores: dict) -> list[str]:
    classes = scores["classes"]
    lines = [f"    {'class':<10} {'support':>7} {'recall':>7} {'95% CI':>13} {'precision':>9} {'F1':>5}"]
    confusion = np.array(scores["confusion"])
    for i, name in enumerate(classes):
        c = scores["per_class"][name]
        if c["support"] == 0 and confusion[:, i].sum() == 0:
            continue  # a class this corpus does not hold, and nothing was called so
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

    lines = [f"{name}: {len(corpus)} clips in {len({c.clip.group for c in corpus})} groups (a group: one "
             f"clip, or the songs of one artist or source), {sum(c.examples for c in corpus)} 3-s excerpts; "
             f"{scores['repeats']} x {scores['folds']}-fold group-disjoint stratified cross-validation "
             f"(seeds {scores['seeds']}), mean +/- spread over the repeats",
             f"  per clip:    accuracy {spread('clip_accuracy')}  macro-F1 {spread('clip_macro_f1')}",
             f"  per excerpt: accuracy {spread('excerpt_accuracy')}  macro-F1 {spread('excerpt_macro_f1')}",
             f"  calibration (temperature fitted inside each training fold): expected calibration error "
             f"{calibration['ece']:.3f} (95% bootstrap {calibration['ece_95'][0]:.3f}-{calibration['ece_95'][1]:.3f})",
             "  per clip, first repeat:", *_table(scores["clips"]),
             f"  zero-shot (the tagger's genre tags mapped to classes, no training): clip accuracy "
             f"{zero['clip_accuracy']:.3f}, macro-F1 {zero['clip_macro_f1']:.3f}, excerpt accuracy "
             f"{zero['excerpt_accuracy']:.3f}"]
    if len(scores["per_corpus"]) > 1:
        for corpus_name, entry in scores["per_corpus"].items():
            lines += [f"  {corpus_name} clips alone: accuracy {entry['clip_accuracy_mean']:.3f} +/- "
                      f"{entry['clip_accuracy_std']:.3f}; first repeat:", *_table(entry["first_repeat"])]
    return "\n".join(lines + _across(scores))


def _across(scores: dict) -> list[str]:
    """The checks across corpora (corpora.py) as lines, where there were several corpora."""
    if "cross_corpus" not in scores:
        return []
    lines = ["", "Across corpora (clip accuracy, 95% interval; 'both': trained on both corpora, each clip heard",
             "by a head fitted without its artist or source):"]
    for row in scores["cross_corpus"]:
        alone, both, gain = row["alone_95"], row["both_95"], row["gain_95"]
        lines.append(f"  trained on {row['train']} alone -> {row['test']} ({row['clips']} clips of its classes): "
                     f"{row['alone_correct'] / row['clips']:.3f} ({alone[0]:.2f}-{alone[1]:.2f});  both: "
                     f"{row['both_correct'] / row['clips']:.3f} ({both[0]:.2f}-{both[1]:.2f});  gain "
                     f"{(row['both_correct'] - row['alone_correct']) / row['clips']:+.3f} "
                     f"({gain[0]:+.2f} to {gain[1]:+.2f})")
        if row["classes_left_out"]:
            gain_all = row["gain_all_95"]
            missed = ", ".join(row["classes_left_out"])
            lines.append(f"    all {row['all_clips']} clips ({missed} counted as missed alone): "
                         f"alone {row['alone_correct'] / row['all_clips']:.3f}, both "
                         f"{row['both_correct_all'] / row['all_clips']:.3f}, gain "
                         f"{(row['both_correct_all'] - row['alone_correct']) / row['all_clips']:+.3f} "
                         f"({gain_all[0]:+.2f} to {gain_all[1]:+.2f})")
        lines.append("    per class (right alone / right both / clips): " + ", ".join(
            f"{name} {c['alone']}/{c['both']}/{c['clips']}" for name, c in row["per_class"].items())
            + (f"; not scored (the first corpus has none): {', '.join(row['classes_left_out'])}"
               if row["classes_left_out"] else ""))
    cut = scores["shortcut"]
    changed = ", ".join(f"{name} {n}" for name, n in cut["changed"].items()) or "none"
    lines.append(f"  corpus shortcut: {cut['clips']} full-band clips made like GTZAN (mono, 22.05 kHz, 16-bit) "
                 f"keep their held-out class on {cut['kept']} ({cut['kept'] / max(cut['clips'], 1):.0%}, "
                 f"{cut['kept_95'][0]:.2f}-{cut['kept_95'][1]:.2f}); accuracy {cut['accuracy_original']:.3f} -> "
                 f"{cut['accuracy_like_gtzan']:.3f}; changed: {changed}")
    return lines


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
classical <- instrumental; electronic <- electronic, electro, electronica, House) and move only
as far as the corpus insists (L2 pull to the mapping), with a temperature for calibrated
probabilities. Classes: {', '.join(evaluation.classes)}.

Every patch is brought to one level before the tagger hears it (mel.py), so a decision does
not move with playback level. Beside the classes: a music detector (logistic, on the tagger's
1706-value embedding) trained on the corpus against {len(non_music['recordings'])} non-music recordings
({non_music['folder']}); below one half the classifier says "unsure" and the EQ holds.

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
- GTZAN's clips share artists and eras (and carry no artist names here, so each is its own
  group), so its cross-validation flatters; the numbers across corpora above are the honest
  ones, and the tagger's knowledge (kept by the pull to the zero-shot mapping) is what
  carries to songs outside the corpus.
- {_weakest(evaluation.scores)}
- It hears 0-8 kHz (the tagger's 16 kHz input; 8 kHz files are heard with 4-8 kHz empty), one
  3 s patch at a time. Music of a class it does not know is given the nearest class it knows,
  or "unsure" when no class leads (the EQ holds).
"""


def _weakest(scores: dict) -> str:
    """The classes cross-validation found weakest, with their recall and support."""
    per_class = scores["clips"]["per_class"]
    weakest = sorted(per_class, key=lambda name: per_class[name]["recall"])[:3]
    return "Weakest in cross-validation (recall, clips): " + ", ".join(
        f"{name} {per_class[name]['recall']:.2f} of {per_class[name]['support']}" for name in weakest) + "."


def _comparison(rows: list[dict]) -> str:
    """The models evaluated beside this one in the same training run, as a table."""
    if len(rows) < 2:
        return ""
    lines = ["## Beside it, in the same run", "", "| model | clip accuracy | clip macro-F1 | excerpt accuracy |",
             "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['clip_accuracy']:.3f} | {r['clip_macro_f1']:.3f} | {r['excerpt_accuracy']:.3f} |"
              for r in rows]
    return "\n".join(lines) + "\n\nThe filterbank model's own card, with its per-class intervals: weights/gtzan/MODEL_CARD.md.\n"
