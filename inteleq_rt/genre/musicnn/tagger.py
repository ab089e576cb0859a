"""musicnn (Pons & Serra, Music Technology Group, UPF; ISC license) in flax: a music tagger
pretrained on the Million Song Dataset's 50 most common tags, which knows far more about
genre than a few hundred labelled clips can teach.

The network, as in musicnn's models.py: a batch-normalized 3 s log-mel patch (187 x 96)
feeds a musically motivated front end (timbral convolutions spanning 38 and 67 mel bands,
temporal ones spanning 128, 64 and 32 frames, each max-pooled over frequency), a mid end of
three 1-D convolutions over time with residual connections, and a back end that pools over
time (max and mean), then a dense layer (the "penultimate" embedding) and the tag logits.
Batch norm runs in inference mode with the trained statistics (epsilon 1e-3, TF's).

A tagger folder (written by convert_musicnn.py) holds ``tagger.json`` (tags, provenance),
``params.msgpack`` and the license notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InteleqError
from .mel import N_MELS, PATCH_FRAMES

EMBEDDING_SIZE = 753 + 753 + 200  # mean pool, max pool, penultimate
TAGGER_FORMAT = 1


class TaggerError(InteleqError):
    """A tagger folder that cannot be used; the message names the file."""


def build_musicnn(tags: int = 50, seed: int = 0):
    """The network with freshly initialized parameters (load_tagger fills in the trained ones)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    def norm(features: int, rngs: nnx.Rngs):
        return nnx.BatchNorm(features, use_running_average=True, epsilon=1e-3, rngs=rngs)

    class Musicnn(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.input_norm = norm(1, rngs)
            self.timbral = nnx.List([nnx.Conv(1, 204, (7, width), padding="VALID", rngs=rngs)
                                     for width in (int(0.4 * N_MELS), int(0.7 * N_MELS))])
            self.timbral_norm = nnx.List([norm(204, rngs) for _ in range(2)])
            # TF's "same" padding for an even kernel puts the extra frame after
            self.temporal = nnx.List([nnx.Conv(1, 51, (length, 1), padding=((length // 2 - 1, length // 2), (0, 0)),
                                               rngs=rngs) for length in (128, 64, 32)])
            self.temporal_norm = nnx.List([norm(51, rngs) for _ in range(3)])
            self.midend = nnx.List([nnx.Conv(width, 64, (7,), padding=((3, 3),), rngs=rngs)
                                    for width in (561, 64, 64)])
            self.midend_norm = nnx.List([norm(64, rngs) for _ in range(3)])
            self.pool_norm = norm(1506, rngs)
            self.dense = nnx.Linear(1506, 200, rngs=rngs)
            self.dense_norm = norm(200, rngs)
            self.logits = nnx.Linear(200, tags, rngs=rngs)

        def __call__(self, patches):
            """(batch, 187, 96) log-mel -> (tag logits, penultimate, mean pool, max pool)."""
            x = self.input_norm(patches[..., None])
            padded = jnp.pad(x, ((0, 0), (3, 3), (0, 0), (0, 0)))
            maps = [bn(jax.nn.relu(conv(padded))).max(axis=2) for conv, bn in zip(self.timbral, self.timbral_norm)]
            maps += [bn(jax.nn.relu(conv(x))).max(axis=2) for conv, bn in zip(self.temporal, self.temporal_norm)]
            front = jnp.concatenate(maps, axis=-1)
            layers, previous = [front], None
            for conv, bn in zip(self.midend, self.midend_norm):
                out = bn(jax.nn.relu(conv(layers[-1])))
                previous = out if previous is None else out + previous
                layers.append(previous)
            features = jnp.concatenate(layers, axis=-1)
            max_pool, mean_pool = features.max(axis=1), features.mean(axis=1)
            pooled = jnp.stack([max_pool, mean_pool], axis=-1).reshape(features.shape[0], -1)
            penultimate = self.dense_norm(jax.nn.relu(self.dense(self.pool_norm(pooled))))
            return self.logits(penultimate), penultimate, mean_pool, max_pool

    return Musicnn(nnx.Rngs(seed))


@dataclass
class TagOutputs:
    """Per patch: tag log-odds (logits) and the 1706-value embedding."""

    logits: np.ndarray  # (patches, tags)
    embedding: np.ndarray  # (patches, 1706): mean pool, max pool, penultimate

    @property
    def probabilities(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits))


class Tagger:
    """A loaded tagger: ``tag(patches)`` runs a jitted forward pass (CPU)."""

    def __init__(self, network, tags: tuple[str, ...], record: dict) -> None:
        import jax
        from flax import nnx

        self.tags = tags
        self.record = record
        self.graph, self.state = nnx.split(network)

        def forward(state, patches):
            logits, penultimate, mean_pool, max_pool = nnx.merge(self.graph, state)(patches)
            return logits, jax.numpy.concatenate([mean_pool, max_pool, penultimate], axis=-1)

        self._forward = jax.jit(forward)

    def tag(self, patches: np.ndarray) -> TagOutputs:
        """Tag (batch, 187, 96) log-mel patches."""
        patches = np.asarray(patches, dtype=np.float32).reshape(-1, PATCH_FRAMES, N_MELS)
        logits, embedding = self._forward(self.state, patches)
        return TagOutputs(np.asarray(logits), np.asarray(embedding))

    def index(self, tag: str) -> int:
        return self.tags.index(tag)


def load_tagger(folder: Path) -> Tagger:
    """Load a tagger folder; every problem is a TaggerError naming the file."""
    from ..interface import restore_parameters

    folder = Path(folder)
    description, params = folder / "tagger.json", folder / "params.msgpack"
    for path in (description, params):
        if not path.is_file():
            raise TaggerError(f"{path}: missing (convert the musicnn checkpoint: "
                              "python -m inteleq_rt.training.convert_musicnn --help)")
    try:
        document = json.loads(description.read_text())
        tags = tuple(document["tags"])
        if document.get("format_version") != TAGGER_FORMAT:
            raise TaggerError(f"{description}: format_version {document.get('format_version')!r}, "
                              f"this program reads {TAGGER_FORMAT}")
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise TaggerError(f"{description}: unreadable ({error})") from None
    from flax import nnx

    network = nnx.eval_shape(lambda: build_musicnn(len(tags)))
    restore_parameters(network, params, TaggerError, "the musicnn architecture")
    return Tagger(network, tags, document)
