"""The filterbank genre network (a flax nnx MLP): one of the two model families.

Its weights folder holds ``model.json`` (architecture, feature spec, normalization, class
names, how it was trained and what it scored), ``params.msgpack`` (flax serialization) and
``MODEL_CARD.md`` (weights.py loads any folder). The feature spec travels with the weights,
so an old model keeps loading with the features it was trained on, and a mismatch is caught
when it loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...io.atomic import write_atomically
from ..interface import Evidence, WeightsError, restore_parameters
from .features import FeatureSpec, FeatureTracker

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Architecture:
    hidden: tuple[int, ...]
    activation: str = "tanh"  # "tanh" (the paper's) or "gelu"
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return {"hidden": list(self.hidden), "activation": self.activation, "dropout": self.dropout}


def build_network(inputs: int, classes: int, architecture: Architecture, seed: int = 0):
    """An MLP: inputs -> hidden layers (activation, dropout) -> class logits."""
    import jax
    from flax import nnx

    activation = {"tanh": jax.numpy.tanh, "gelu": jax.nn.gelu}[architecture.activation]

    class GenreMLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            sizes = (inputs, *architecture.hidden, classes)
            self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
            self.dropout = nnx.Dropout(architecture.dropout, rngs=rngs)

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = self.dropout(activation(layer(x)))
            return self.layers[-1](x)

    return GenreMLP(nnx.Rngs(seed))


class GenreModel:
    """A loaded model: ``probabilities(features)`` runs a jitted forward pass on the CPU."""

    def __init__(self, network, spec: FeatureSpec, mean: np.ndarray, scale: np.ndarray,
                 classes: tuple[str, ...], architecture: Architecture, record: dict | None = None) -> None:
        import jax
        from flax import nnx

        self.spec = spec
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.classes = tuple(classes)
        self.architecture = architecture
        self.record = record or {}
        network.eval()
        # Parameters are what the weights file holds; the rest (dropout's RNG) only rides along.
        self.graph, self.params, self._rest = nnx.split(network, nnx.Param, ...)

        def forward(params, x):
            return jax.nn.softmax(nnx.merge(self.graph, params, self._rest)(x), axis=-1)

        self._forward = jax.jit(forward)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for one feature vector (or a batch, leading axes kept)."""
        x = (np.asarray(features, dtype=np.float32) - self.mean) / self.scale
        return np.asarray(self._forward(self.params, x))

    def check_sample_rate(self, sample_rate: float) -> None:
        """Refuse audio that cannot hold the model's highest band (its features would be wrong)."""
        require_bandwidth(self.spec.bands[-1][1], sample_rate)

    def warm_up(self) -> None:
        """Compile the forward pass now, so the first live decision does not stall."""
        self.probabilities(np.zeros(self.spec.size, dtype=np.float32))

    @property
    def window_s(self) -> float:
        """Seconds of audio a decision hears."""
        return self.spec.stats_window_s

    def tracker(self, sample_rate: float, channels: int) -> FeatureTracker:
        return FeatureTracker(self.spec, sample_rate, channels)

    def evidence(self, tracker: FeatureTracker) -> Evidence:
        return self.evidence_batch(self.heard(tracker)[None])[0]

    def heard(self, tracker: FeatureTracker) -> np.ndarray:
        """What a decision hears now (its feature vector), for ``evidence_batch`` later."""
        return tracker.features()

    def evidence_batch(self, heard: np.ndarray) -> list[Evidence]:
        """Evidence on many ``heard`` feature vectors (stacked) in one forward pass."""
        return [Evidence(p) for p in self.probabilities(heard)]

    def save(self, folder: Path, card: str) -> None:
        import jax
        from flax import nnx, serialization

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params = jax.tree_util.tree_map(np.asarray, nnx.to_pure_dict(self.params))
        document = {
            "format_version": FORMAT_VERSION,
            "classes": list(self.classes),
            "architecture": self.architecture.to_dict(),
            "features": self.spec.to_dict(),
            "normalization": {"mean": self.mean.tolist(), "scale": self.scale.tolist()},
            "record": self.record,
        }
        write_atomically(folder / "params.msgpack", serialization.msgpack_serialize(params))
        write_atomically(folder / "model.json", json.dumps(document, indent=1))
        write_atomically(folder / "MODEL_CARD.md", card)


def require_bandwidth(highest_hz: float, sample_rate: float) -> None:
    """The filterbank model's rule: audio must hold its highest band."""
    if highest_hz > 0.5 * sample_rate * 1.001:
        raise WeightsError(f"the genre model listens up to {highest_hz:g} Hz, more than audio at "
                           f"{sample_rate:g} Hz holds; resample to at least {2 * highest_hz:g} Hz")


def load_mlp(folder: Path, document: dict) -> GenreModel:
    from flax import nnx

    description, params_file = folder / "model.json", folder / "params.msgpack"
    if not params_file.is_file():
        raise WeightsError(f"{params_file}: missing")
    try:
        if document.get("format_version") != FORMAT_VERSION:
            raise WeightsError(f"{description}: format_version {document.get('format_version')!r}, "
                               f"this program reads {FORMAT_VERSION}")
        spec = FeatureSpec.from_dict(document["features"])
        raw = document["architecture"]
        architecture = Architecture(tuple(raw["hidden"]), raw["activation"], float(raw["dropout"]))
        classes = tuple(document["classes"])
        mean = np.array(document["normalization"]["mean"], dtype=np.float32)
        scale = np.array(document["normalization"]["scale"], dtype=np.float32)
    except WeightsError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsError(f"{description}: missing or bad key {error}") from None
    if mean.shape != (spec.size,) or scale.shape != (spec.size,) or np.any(scale <= 0):
        raise WeightsError(f"{description}: normalization does not match the {spec.size} features")
    network = nnx.eval_shape(lambda: build_network(spec.size, len(classes), architecture))
    restore_parameters(network, params_file, WeightsError, "model.json's architecture", nnx.Param)
    return GenreModel(network, spec, mean, scale, classes, architecture, document.get("record"))
