"""A genre head on the tagger's tags: the tagger's own genre knowledge, adjusted by a corpus.

Each class's score is a weighted sum of the tagger's 50 tag log-odds. The weights start from
a zero-shot mapping of the tagger's genre tags to our classes (``PRIOR_TAGS``) and training
pulls them only as far from it as the corpus insists (the penalty is on the distance to the
mapping, not to zero), so what a few hundred clips cannot teach is not erased. A temperature
calibrates the probabilities.

Beside the genre, the head keeps what the classes cannot hold: whether it is music at all,
a logistic detector on the tagger's 1706-value embedding, trained on the corpus (music)
against non-music recordings, so speech, noise, calls and single notes are "unsure".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_TAGS = {
    "rock_pop": ("rock", "pop", "alternative", "indie", "alternative rock", "classic rock", "indie rock", "punk",
                 "hard rock", "metal", "heavy metal", "Progressive rock", "blues", "indie pop"),
    "classical": ("instrumental",),
    "country": ("country", "folk"),
    "hiphop": ("Hip-Hop", "rnb"),
    "jazz": ("jazz",),
    "disco": ("dance", "funk", "soul"),
    "electronic": ("electronic", "electro", "electronica", "House"),
}


def prior_weights(classes: tuple[str, ...], tags: tuple[str, ...]) -> np.ndarray:
    """(classes, tags): each class the mean of its mapped tags' log-odds (0 for unmapped classes)."""
    weights = np.zeros((len(classes), len(tags)))
    for row, name in enumerate(classes):
        mapped = [tags.index(t) for t in PRIOR_TAGS.get(name, ()) if t in tags]
        weights[row, mapped] = 1.0 / max(len(mapped), 1)
    return weights


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass
class TagHead:
    """The fitted head: class weights over tags, temperature, and the music detector."""

    classes: tuple[str, ...]
    tags: tuple[str, ...]
    weights: np.ndarray  # (classes, tags)
    bias: np.ndarray  # (classes,)
    temperature: float
    music_mean: np.ndarray  # (1706,) embedding standardization
    music_scale: np.ndarray
    music_weights: np.ndarray  # (1706,)
    music_bias: float

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities for (..., tags) tag log-odds."""
        return softmax((logits @ self.weights.T + self.bias) / self.temperature)

    def music(self, embedding: np.ndarray) -> np.ndarray:
        """Probability that each (..., 1706) embedding is music."""
        z = ((embedding - self.music_mean) / self.music_scale) @ self.music_weights + self.music_bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "tags": list(self.tags), "weights": self.weights.round(6).tolist(),
                "bias": self.bias.round(6).tolist(), "temperature": round(float(self.temperature), 6),
                "music": {"mean": self.music_mean.round(6).tolist(), "scale": self.music_scale.round(6).tolist(),
                          "weights": self.music_weights.round(6).tolist(), "bias": round(float(self.music_bias), 6)}}

    @classmethod
    def from_dict(cls, data: dict) -> TagHead:
        music = data["music"]
        return cls(tuple(data["classes"]), tuple(data["tags"]), np.array(data["weights"]), np.array(data["bias"]),
                   float(data["temperature"]), np.array(music["mean"]), np.array(music["scale"]),
                   np.array(music["weights"]), float(music["bias"]))
