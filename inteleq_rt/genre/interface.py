"""What every genre model is, and what the families share: the evidence a model gives, its
interface (``GenreListener``: the filterbank MLP of model.py and the tagger's head of
tag_model.py both are one), the error a bad weights folder raises, and the reading of
model.json and of flax parameter files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InteleqError


class WeightsError(InteleqError, ValueError):
    """Weights that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Evidence:
    """What a model heard in its latest window: class probabilities, how likely it is music
    (1.0 for a model that cannot tell), and its tags."""

    probabilities: np.ndarray
    music: float = 1.0
    tag_logits: np.ndarray | None = None  # a tagger's own tags (log-odds), where there is one


class GenreListener(Protocol):
    """A loaded genre model, as the classifier and a whole-track decision use it: a tracker
    follows the audio, ``heard`` takes what a decision hears from it, ``evidence_batch`` judges
    many such at once (``evidence``: one, now)."""

    classes: tuple[str, ...]
    record: dict

    @property
    def window_s(self) -> float: ...

    def check_sample_rate(self, sample_rate: float) -> None: ...

    def warm_up(self) -> None: ...

    def tracker(self, sample_rate: float, channels: int): ...

    def evidence(self, tracker) -> Evidence: ...

    def heard(self, tracker) -> np.ndarray: ...

    def evidence_batch(self, heard: np.ndarray) -> list[Evidence]: ...


def read_document(folder: Path) -> dict:
    description = Path(folder) / "model.json"
    try:
        return json.loads(description.read_text())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise WeightsError(f"{description}: missing") from None
    except json.JSONDecodeError as error:
        raise WeightsError(f"{description}: not valid JSON ({error})") from None


def restore_parameters(network, path: Path, error: type[InteleqError], architecture: str, *kinds) -> None:
    """Fill ``network`` (its state of these kinds; all of it by default) from a flax msgpack
    file, shape by shape; anything wrong is ``error`` naming the file. ``network`` may be
    abstract (``nnx.eval_shape``): building it for real would initialize every parameter only
    to overwrite it (3.5 s for the tagger, mostly compiling the initializers)."""
    import jax
    from flax import nnx, serialization

    state = nnx.state(network, *kinds)
    try:
        restored = serialization.msgpack_restore(Path(path).read_bytes())
        expected = jax.tree_util.tree_map(lambda leaf: tuple(leaf.shape), nnx.to_pure_dict(state))
        if jax.tree_util.tree_map(np.shape, restored) != expected:
            raise error(f"{path}: parameter shapes do not match {architecture}")
        nnx.replace_by_pure_dict(state, jax.device_put(restored))
    except InteleqError:
        raise
    except Exception as problem:  # msgpack raises assorted types on corrupt data
        raise error(f"{path}: unreadable parameters ({type(problem).__name__})") from None
    nnx.update(network, state)


