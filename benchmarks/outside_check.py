"""The genre model judged outside its corpus, through the real engine and classifier.

    pip install immich-memories-music                        # once: royalty-free tracks
    python benchmarks/outside_set.py /tmp/outside           # once: speech, noises, tones
    python benchmarks/outside_check.py /tmp/outside/check --corpus ../shared/data/genre-audio

* non-music (the check part: voices, texts and kinds of sound the model never heard): does
  the EQ move? It must stay flat, and must hold a song's genre when speech follows the song;
* music outside the corpus (the royalty-free tracks of immich-memories-music, 48 kHz Opus,
  grouped acoustic / electronic): a decision within 8 s, and electronic named as such;
* playlists of held-out corpus clips (with --corpus): a head fitted on the other folds hears
  that fold's clips (30 s each) back to back; changes of genre followed by a switch to the
  new genre, how late, and flips (every other switch: within same-genre runs) per hour.
"""

import glob
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import parser, progress, save

from inteleq_rt.engine.config import CLASSIFIER_RING_S, EngineConfig
from inteleq_rt.engine.engine import Engine
from inteleq_rt.genre.classifier import UNSURE, GenreClassifier
from inteleq_rt.genre.weights import load_model
from inteleq_rt.resources import weights_dir

BLOCK = 4096


def listen(model, audio: np.ndarray, rate: int) -> tuple[list[tuple[float, str]], list]:
    """Stream audio through an engine (starting flat) with the classifier stepped per block:
    the EQ's genre whenever it changed, and the classifier's decisions."""
    engine = Engine(EngineConfig(sample_rate=rate, channels=audio.shape[1], input_ring_s=CLASSIFIER_RING_S,
                                 analyze_output=False, crossfade_s=0.5), genre="flat")
    classifier = GenreClassifier(engine.classifier_port, model)
    out = np.empty((BLOCK, audio.shape[1]), np.float32)
    changes = [(0.0, "flat")]
    for start in range(0, len(audio) - BLOCK + 1, BLOCK):
        engine.process(audio[start : start + BLOCK], out)
        classifier.step()
        if engine.genre != changes[-1][1]:
            changes.append(((start + BLOCK) / rate, engine.genre))
    return changes, classifier.decisions


def read(path: str) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio, rate


def check_non_music(model, folder: Path) -> dict:
    results = {}
    for path in sorted(folder.glob("*.wav")):
        audio, rate = read(str(path))
        changes, decisions = listen(model, audio, rate)
        results[path.stem] = {"eq_moved": len(changes) > 1, "decisions": len(decisions),
                              "unsure": sum(d.genre == UNSURE for d in decisions), "genres": changes}
        progress(f"{path.stem}: {'MOVED ' + str(changes) if len(changes) > 1 else 'held'}")
    return results


def check_music(model) -> dict:
    import immich_memories_music

    tracks = sorted(glob.glob(os.path.join(os.path.dirname(immich_memories_music.__file__), "tracks/*/*.opus")))
    results = {}
    for path in tracks:
        audio, rate = read(path)
        changes, decisions = listen(model, audio, rate)
        sure = [d for d in decisions if d.genre != UNSURE]
        name = Path(path).stem
        results[name] = {"first_decision_s": round(sure[0].time_s, 2) if sure else None,
                         "final": changes[-1][1], "changes": len(changes) - 1,
                         "electronic_expected": "electronic" in name}
        progress(f"{name}: {changes}")
    return results


def check_speech_after_song(model, speech_folder: Path) -> dict:
    """A music track, then speech: the EQ keeps the track's genre through the speech."""
    import immich_memories_music

    track = sorted(glob.glob(os.path.join(os.path.dirname(immich_memories_music.__file__), "tracks/*/*.opus")))[0]
    song, rate = read(track)
    results = {}
    for path in sorted(speech_folder.glob("speech_*.wav")):
        speech, speech_rate = read(str(path))
        from scipy.signal import resample_poly

        speech = resample_poly(speech, rate, speech_rate, axis=0).astype(np.float32)
        speech = np.repeat(speech, song.shape[1], axis=1) if speech.shape[1] != song.shape[1] else speech
        changes, _ = listen(model, np.concatenate([song[: rate * 20], speech]), rate)
        after = [g for t, g in changes if t > 20.0 + 1.0]  # a switch that started during the speech
        results[path.stem] = {"genres": changes, "moved_during_speech": bool(after)}
    return results


def check_playlists(model, corpus: Path, folds: int = 5) -> dict:
    """Held-out corpus clips back to back: per fold, a head fitted on the other folds (the
    shipped model's music detector kept) hears that fold's clips in
    a shuffled order. A good switch is the first change after a change of genre, to it."""
    from dataclasses import replace

    from inteleq_rt.training import dataset, tag_fitting as tag_training, tag_workflow
    from inteleq_rt.training.metrics import grouped_folds
    from inteleq_rt.genre.musicnn.tag_model import TagGenreModel
    from inteleq_rt.resources import shipped_weights

    clips, _ = dataset.discover(corpus)
    classes = dataset.classes_of(clips)
    tagged, _ = tag_training.tag_clips(clips, shipped_weights() / tag_workflow.TAGGER, dataset.default_cache_dir())
    logits, labels, groups = tag_training._stack(tagged, classes)
    fold_of = grouped_folds([c.clip.label for c in tagged], [c.clip.group for c in tagged], folds, 0)
    changes = late = good = inside = 0
    hours = 0.0
    delays = []
    for fold in range(folds):
        train = fold_of[groups] != fold
        weights, bias, temperature = tag_training.fit_head_classes(logits[train], labels[train], groups[train],
                                                                   classes, model.tagger.tags, fold)
        head = replace(model.head, weights=weights, bias=bias, temperature=temperature)
        held_out = TagGenreModel(model.tagger, head, "musicnn")
        order = np.random.default_rng(fold).permutation(np.flatnonzero(fold_of == fold))
        parts, truth, at = [], [], 0.0
        for index in order:
            audio, rate = read(str(tagged[index].clip.path))
            audio = audio.mean(axis=1, keepdims=True)[: 30 * rate]
            parts.append(audio)
            truth.append((at, tagged[index].clip.label))
            at += len(audio) / rate
        playlist = np.concatenate(parts)
        heard, _ = listen(held_out, playlist, rate)
        hours += len(playlist) / rate / 3600
        boundaries = [(t, g) for (t, g), (_, before) in zip(truth[1:], truth[:-1]) if g != before]
        for t, genre in boundaries:
            after = [(when, g) for when, g in heard if t <= when < t + 30]
            changes += 1
            if after and after[0][1] == genre:
                good += 1
                delays.append(after[0][0] - t)
                late += after[0][0] - t > 8.0
        previous = None
        for (start, genre), end in zip(truth, [t for t, _ in truth[1:]] + [at]):
            switches = [g for when, g in heard if start <= when < end]
            if genre != previous and genre in switches:
                switches.remove(genre)  # the one switch a change of genre calls for
            inside += len(switches)  # every other switch is a flip within a same-genre run
            previous = genre
        progress(f"playlist {fold}: {len(order)} clips, {len(heard) - 1} switches")
    return {"genre_changes": changes, "followed_by_a_switch_to_it": good, "of_those_later_than_8s": late,
            "switch_delay_s_median": round(float(np.median(delays)), 2) if delays else None,
            "flips_within_same_genre_runs": inside, "hours": round(hours, 3),
            "flips_per_hour": round(inside / hours, 1) if hours else None}


def main() -> None:
    p = parser(__doc__.splitlines()[0], seconds=0.0)
    p.add_argument("check", type=Path, help="the check part of outside_set.py's folder")
    p.add_argument("--weights", default=None, help="genre model (default: the shipped default)")
    p.add_argument("--corpus", type=Path, help="the genre corpus, for playlists of held-out clips")
    args = p.parse_args()
    model = load_model(weights_dir(args.weights))
    result = {"model": str(weights_dir(args.weights))}
    result["non_music"] = check_non_music(model, args.check)
    result["speech_after_song"] = check_speech_after_song(model, args.check)
    result["music"] = check_music(model)
    if args.corpus is not None:
        result["playlists"] = check_playlists(model, args.corpus)
    music = result["music"].values()
    decided = [m for m in music if m["first_decision_s"] is not None and m["first_decision_s"] <= 8.0]
    electronic = [m for m in music if m["electronic_expected"]]
    acoustic = [m for m in music if not m["electronic_expected"]]
    result["summary"] = {
        "non_music_recordings": len(result["non_music"]),
        "non_music_moved_eq": sum(r["eq_moved"] for r in result["non_music"].values()),
        "speech_after_song_moved_eq": sum(r["moved_during_speech"] for r in result["speech_after_song"].values()),
        "music_tracks": len(music), "music_decided_within_8s": len(decided),
        "electronic_tracks_called_electronic": sum(m["final"] == "electronic" for m in electronic),
        "electronic_tracks": len(electronic),
        "acoustic_tracks_called_electronic": sum(m["final"] == "electronic" for m in acoustic),
        "acoustic_tracks": len(acoustic),
        "music_genre_changes_per_track": round(float(np.mean([m["changes"] for m in music])), 2),
    }
    if "playlists" in result:
        result["summary"].update({f"playlist_{k}": v for k, v in result["playlists"].items()})
    for key, value in result["summary"].items():
        print(f"{key.replace('_', ' ')}: {value}")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4))
    firsts = [m["first_decision_s"] for m in music if m["first_decision_s"] is not None]
    axis.hist(firsts, bins=20)
    axis.axvline(8.0, color="k", linestyle="--")
    axis.set(xlabel="first decision (s)", ylabel="tracks", title="outside music: time to the first decision")
    save(Path(args.out), "outside_check", result, figure)


if __name__ == "__main__":
    main()
