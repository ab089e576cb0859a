"""Where presets and genre models are found, installed or checked out alike.

The repository's presets/ and weights/ are shipped inside the package (the wheel maps them
to ``inteleq_rt.presets`` and ``inteleq_rt.weights``) and found with importlib.resources, so
a wheel, pipx or an editable checkout all work from any folder. A user's own folder takes
precedence: the command-line option, then an environment variable, then the XDG folder.
Trained models never go into the package: they live in the user's data folder, found by name.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import InteleqError

DEFAULT_MODEL = "musicnn-genres"
PRESETS_ENV = "INTELEQ_RT_PRESETS"
WEIGHTS_ENV = "INTELEQ_RT_WEIGHTS"


def _xdg(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback) / "inteleq-rt"


def shipped_presets() -> Path:
    """The presets that came with the program."""
    return Path(str(resources.files("inteleq_rt.presets")))


def shipped_weights() -> Path:
    """The folder of models that came with the program."""
    return Path(str(resources.files("inteleq_rt.weights")))


def user_presets() -> Path:
    """$XDG_CONFIG_HOME/inteleq-rt/presets: a user's presets, used when it holds any."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "presets"


def user_weights() -> Path:
    """$XDG_DATA_HOME/inteleq-rt/weights: where models a user trains are found by name."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "weights"


def user_cache() -> Path:
    """$XDG_CACHE_HOME/inteleq-rt: what the program may rebuild (compiled kernels), never the package."""
    return _xdg("XDG_CACHE_HOME", ".cache")


def presets_dir(chosen: Path | None = None) -> Path:
    """The presets folder in force: ``chosen``, $INTELEQ_RT_PRESETS, the user's, the shipped."""
    if chosen is not None:
        return Path(chosen)
    if os.environ.get(PRESETS_ENV):
        return Path(os.environ[PRESETS_ENV])
    if any(user_presets().glob("*.toml")):
        return user_presets()
    return shipped_presets()


def weights_dir(chosen: str | Path | None = None) -> Path:
    """A model folder from a path or a name: a name is looked up in $INTELEQ_RT_WEIGHTS, the
    user's data folder, then among the shipped models."""
    chosen = str(chosen or DEFAULT_MODEL)
    if os.sep in chosen or chosen.startswith(".") or Path(chosen).is_dir():
        return Path(chosen)
    roots = [Path(os.environ[WEIGHTS_ENV])] if os.environ.get(WEIGHTS_ENV) else []
    roots += [user_weights(), shipped_weights()]
    for root in roots:
        if (root / chosen / "model.json").is_file():
            return root / chosen
    raise InteleqError(f"no genre model named {chosen!r} in {', '.join(map(str, roots))}; "
                       "give a folder, or train one with `inteleq-rt train DATASET --name NAME`")


def named_weights(name: str) -> Path:
    """Where `train --name NAME` writes: the user's data folder, where ``--weights NAME`` looks."""
    if not name or os.sep in name or name.startswith("."):
        raise InteleqError(f"--name {name!r}: a plain name, without folders (use -o for a path)")
    return user_weights() / name
