"""Loading a weights folder, whichever family it holds: ``model.json`` says (``"kind":
"tag_head"``: the tagger's head of tag_model.py; otherwise the filterbank MLP of model.py).

A weights folder holds ``model.json`` (architecture or head, features, class names, how it
was trained and what it scored), its parameters and ``MODEL_CARD.md``. What a live run
checks before it starts the classifier's process (``check_rate``, ``read_classes``) needs
no JAX. ``load_genre_model`` and ``genre_model_classes`` find a model by name or folder
(resources.weights_dir) and say how to get one when there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import interrupts
from ..resources import weights_dir
from .interface import GenreListener, WeightsError, read_document
from .filterbank.model import load_mlp, require_bandwidth
from .musicnn.tag_model import load_tag_model


def check_rate(folder: Path, sample_rate: float) -> tuple[str, ...]:
    """A weights folder's classes, once its model.json says it can hear audio at this rate
    (no JAX: what a live run checks before it starts the classifier's process)."""
    document = read_document(folder)
    try:
        classes = tuple(document["classes"])
        if document.get("kind") != "tag_head":  # the tagger resamples any rate to its own
            require_bandwidth(float(document["features"]["bands"][-1][1]), sample_rate)
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise WeightsError(f"{Path(folder) / 'model.json'}: missing or bad key {error}") from None
    return classes


def read_classes(folder: Path) -> tuple[str, ...]:
    """The genre names a weights folder's model.json declares."""
    try:
        return tuple(read_document(folder)["classes"])
    except (KeyError, TypeError) as error:
        raise WeightsError(f"{Path(folder) / 'model.json'}: missing or bad key {error}") from None


def keep_compilations() -> None:
    """XLA compiles a forward pass on its first use, at every start (0.3 s for the tagger):
    keep what it compiles in the user's cache folder (unless JAX_COMPILATION_CACHE_DIR says
    where), so later starts load it instead. JAX is imported here whole (``uncut``)."""
    import os

    with interrupts.uncut():
        import jax

    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        jax.config.update("jax_compilation_cache_dir", str(cache / "inteleq-rt" / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)


def load_model(folder: Path) -> GenreListener:
    """Load a weights folder (a filterbank MLP, or a head on the tagger); every problem is a
    WeightsError naming the file and the key."""
    keep_compilations()
    folder = Path(folder)
    document = read_document(folder)
    if isinstance(document, dict) and document.get("kind") == "tag_head":
        return load_tag_model(folder, document)
    return load_mlp(folder, document)


def load_genre_model(weights: str | Path | None, alternative: str = "") -> GenreListener:
    """The genre model (by name or folder), or an error that says how to get one."""
    return _with_a_way_out(load_model, weights, alternative)


def genre_model_classes(weights: str | Path | None) -> tuple[str, ...]:
    """The genre model's classes, read without loading it (for a process that does not
    classify itself), or the same error as ``load_genre_model``."""
    return _with_a_way_out(read_classes, weights, "")


def _with_a_way_out(read: Callable, weights: str | Path | None, alternative: str):
    folder = weights_dir(weights)
    try:
        return read(folder)
    except WeightsError as error:
        raise WeightsError(f"{error}; train a model with `inteleq-rt train DATASET -o {folder}`{alternative}") from None
