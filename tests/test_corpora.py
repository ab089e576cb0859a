"""Training on several corpora: groups from a manifest, splits that keep them whole, the
checks across corpora."""

import numpy as np
import pytest
import soundfile as sf

from inteleq_rt.training.corpora import cross_corpus, held_out, shortcut
from inteleq_rt.training.dataset import Clip, discover
from inteleq_rt.genre.musicnn.head import prior_weights
from inteleq_rt.training.metrics import grouped_folds
from inteleq_rt.training.tag_fitting import TaggedClip

TAGS = ("rock", "jazz", "electronic", "pop")


def _write(root, rows):
    lines = ["file\tartist_title\tsource_repo"]
    for file, artist, repo in rows:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(root / file), np.zeros((100, 1), np.float32), 8000)
        lines.append(f"{file}\t{artist} - a title\t{repo}")
    (root / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")


def test_songs_of_one_artist_or_one_source_form_one_group(tmp_path):
    _write(tmp_path, [("jazz/a.wav", "Ann", "r/one"), ("jazz/b.wav", "Bob", "r/one"),  # one source
                      ("electronic/c.wav", "Bob", "r/two"),  # Bob's: joins them
                      ("electronic/d.wav", "unknown artist", "r/three"),
                      ("rock_pop/e.wav", "unknown artist", "r/four")])
    clips, unmapped = discover(tmp_path)
    groups = {c.path.name: c.group for c in clips}
    assert unmapped == [] and {c.label for c in clips} == {"jazz", "electronic", "rock_pop"}
    assert groups["a.wav"] == groups["b.wav"] == groups["c.wav"]
    assert len({groups["a.wav"], groups["d.wav"], groups["e.wav"]}) == 3  # "unknown artist" joins nobody


def test_a_group_is_never_split_across_folds():
    rng = np.random.default_rng(0)
    labels = list(rng.choice(["a", "b", "c"], 120))
    groups = [f"g{i // 4}" for i in range(120)]
    folds = grouped_folds(labels, groups, 5, seed=3)
    for group in set(groups):
        assert len({f for f, g in zip(folds, groups) if g == group}) == 1
    assert set(folds) == set(range(5))


def _tagged(corpus, label, number, rng):
    """A clip whose tag log-odds point at its class's tag, as a tagger would."""
    logits = rng.normal(0, 1, (6, len(TAGS)))
    logits[:, {"rock_pop": 0, "jazz": 1, "electronic": 2}[label]] += 2.5
    return TaggedClip(Clip(f"{corpus}/{number}.wav", label, label, f"{corpus}:{number}", corpus), logits,
                      np.zeros((6, 4)))


@pytest.mark.slow
def test_each_corpus_is_scored_by_the_other_corpus_alone_and_by_both():
    rng = np.random.default_rng(1)
    corpus = [_tagged("gtzan", label, i, rng) for label in ("rock_pop", "jazz") for i in range(10)]
    corpus += [_tagged("masters", label, i, rng) for label in ("rock_pop", "electronic") for i in range(10)]
    classes = ("rock_pop", "jazz", "electronic")
    assert prior_weights(classes, TAGS)[2, 2] == 1.0  # electronic has its own tags in the mapping
    verdicts, _ = held_out(corpus, classes, TAGS, 5, 0)
    rows = {(r["train"], r["test"]): r for r in cross_corpus(corpus, classes, TAGS, verdicts)}
    gtzan_on_masters = rows["gtzan", "masters"]
    assert gtzan_on_masters["clips"] == 10 and gtzan_on_masters["classes_left_out"] == ["electronic"]
    assert rows["masters", "gtzan"]["clips"] == 10  # its rock_pop only: jazz is not a class it knows
    assert gtzan_on_masters["both_correct"] >= 8 and gtzan_on_masters["alone_correct"] >= 8
    low, high = gtzan_on_masters["gain_95"]
    assert low <= (gtzan_on_masters["both_correct"] - gtzan_on_masters["alone_correct"]) / 10 <= high


@pytest.mark.slow
def test_the_shortcut_check_counts_the_clips_that_change_class():
    rng = np.random.default_rng(2)
    corpus = [_tagged("masters", label, i, rng) for label in ("rock_pop", "electronic") for i in range(10)]
    classes = ("rock_pop", "electronic")
    flipped = {i: _tagged("masters", "electronic" if c.clip.label == "rock_pop" else "rock_pop", i, rng)
               for i, c in enumerate(corpus) if i % 5 == 0}  # 4 clips sound like the other class
    verdicts, others = held_out(corpus, classes, TAGS, 5, 0, flipped)
    result = shortcut(corpus, classes, verdicts, others)
    assert result["clips"] == 4 and result["kept"] <= 1 and sum(result["changed"].values()) == 4 - result["kept"]
