"""The default genre model: the musicnn tagger with a genre head on its tags.

A weights folder of this kind holds ``model.json`` with ``"kind": "tag_head"``, the head
(class weights over tags, temperature, music detector), the name of
the tagger folder it listens through (found beside it, or among the shipped weights), and
how it was made; ``MODEL_CARD.md`` says what it scored.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...io.atomic import write_atomically
from ..interface import Evidence, WeightsError
from .head import TagHead
from .mel import HOP, PATCH_FRAMES, SAMPLE_RATE
from .tagger import Tagger, TaggerError, load_tagger
from .tags import TagTracker

FORMAT_VERSION = 3  # 3: electronic is a class, patches level-normalized (2's head does not fit)


class TagGenreModel:
    """Tagger + head: ``evidence(tracker)`` tags the tracker's latest 3 s patch."""

    window_s = PATCH_FRAMES * HOP / SAMPLE_RATE  # the tagger's patch: 2.99 s

    def __init__(self, tagger: Tagger, head: TagHead, tagger_name: str, record: dict | None = None) -> None:
        self.tagger = tagger
        self.head = head
        self.tagger_name = tagger_name
        self.classes = head.classes
        self.record = record or {}

    def check_sample_rate(self, sample_rate: float) -> None:
        """Any rate: the mel stream resamples to the tagger's 16 kHz (8 kHz audio is heard
        with the 4-8 kHz it does not hold left empty)."""

    def warm_up(self) -> None:
        self.tagger.tag(np.zeros((1, 187, 96), np.float32))

    def tracker(self, sample_rate: float, channels: int) -> TagTracker:
        return TagTracker(sample_rate, channels)

    def evidence(self, tracker: TagTracker) -> Evidence:
        return self.evidence_batch(self.heard(tracker)[None])[0]

    def heard(self, tracker: TagTracker) -> np.ndarray:
        """What a decision hears now (the patch, its own array), for ``evidence_batch`` later."""
        return tracker.patch()

    def evidence_batch(self, heard: np.ndarray) -> list[Evidence]:
        """Evidence on many ``heard`` patches (stacked) in one forward pass."""
        outputs = self.tagger.tag(heard)
        head = self.head
        return [Evidence(head.probabilities(logits), float(head.music(embedding)), logits)
                for logits, embedding in zip(outputs.logits, outputs.embedding)]

    def save(self, folder: Path, card: str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        document = {"format_version": FORMAT_VERSION, "kind": "tag_head", "classes": list(self.classes),
                    "tagger": self.tagger_name, "head": self.head.to_dict(), "record": self.record}
        write_atomically(folder / "model.json", json.dumps(document, indent=1))
        write_atomically(folder / "MODEL_CARD.md", card)


def find_tagger(folder: Path, name: str) -> Path:
    """A tagger folder by name: beside the model's folder, else among the shipped weights."""
    from ...resources import shipped_weights

    for candidate in (Path(folder).parent / name, shipped_weights() / name):
        if (candidate / "tagger.json").is_file():
            return candidate
    raise WeightsError(f"{folder}/model.json: its tagger {name!r} is neither beside it nor shipped")


def load_tag_model(folder: Path, document: dict) -> TagGenreModel:
    description = Path(folder) / "model.json"
    try:
        if document.get("format_version") != FORMAT_VERSION:
            raise WeightsError(f"{description}: format_version {document.get('format_version')!r}, "
                               f"this program reads {FORMAT_VERSION}: train it again with `inteleq-rt train`")
        head = TagHead.from_dict(document["head"])
        name = str(document["tagger"])
    except WeightsError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsError(f"{description}: missing or bad key {error}") from None
    try:
        tagger = load_tagger(find_tagger(folder, name))
    except TaggerError as error:
        raise WeightsError(str(error)) from None
    if tagger.tags != head.tags:
        raise WeightsError(f"{description}: the head was trained on other tags than {name!r} gives")
    return TagGenreModel(tagger, head, name, document.get("record"))
