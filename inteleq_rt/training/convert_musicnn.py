"""Convert musicnn's TensorFlow 1 checkpoint into a tagger folder for ``tagger.load_tagger``.

musicnn's wheel (``pip download --no-deps musicnn``, ISC license) carries the checkpoints
in ``musicnn/MSD_musicnn/`` (files ``.index`` and ``.data-*``: an empty prefix). TensorFlow
reads them; it is not a dependency of this project, so the reading runs in an environment
that has it (``--tensorflow-python``), which dumps the variables to a .npz this side reads:

    python -m inteleq_rt.training.convert_musicnn ~/musicnn-wheel/musicnn/MSD_musicnn \\
        --tensorflow-python ~/tf/bin/python -o weights/musicnn

With ``--reference OUT.npz``, the TensorFlow side also runs musicnn's own graph (its
models.py, from the installed musicnn package) on log-mel patches given in the .npz and
keeps its outputs: the fixture the tests hold the port to.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
            "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
            "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop",
            "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
            "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")
LICENSE = """The weights in this folder are converted from musicnn 0.1.0 (PyPI), MSD_musicnn:
Jordi Pons and Xavier Serra, Music Technology Group, Universitat Pompeu Fabra.
Its license (LICENSE.md in its wheel), verbatim:

Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by Jordi Pons (www.jordipons.me).

Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
"""
# TF1 layer names, in the order musicnn's models.py creates them -> this port's modules
_CONVS = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2", "midend.0", "midend.1", "midend.2"]
_NORMS = ["input_norm", "timbral_norm.0", "timbral_norm.1", "temporal_norm.0", "temporal_norm.1",
          "temporal_norm.2", "midend_norm.0", "midend_norm.1", "midend_norm.2", "pool_norm", "dense_norm"]


def _tf_name(kind: str, index: int) -> str:
    return kind if index == 0 else f"{kind}_{index}"


def port_parameters(variables: dict[str, np.ndarray]) -> dict:
    """The checkpoint's variables as this port's nested parameter dict (nnx pure dict)."""
    tree: dict = {}

    def put(path: str, leaf: str, value: np.ndarray) -> None:
        node = tree
        for part in path.split("."):
            node = node.setdefault(int(part) if part.isdigit() else part, {})
        node[leaf] = np.asarray(value, dtype=np.float32)

    for index, path in enumerate(_CONVS):
        kernel = variables[f"{_tf_name('conv2d', index)}/kernel"]
        put(path, "kernel", kernel[:, :, 0, :] if path.startswith("midend") else kernel)
        put(path, "bias", variables[f"{_tf_name('conv2d', index)}/bias"])
    for index, path in enumerate(_NORMS):
        name = _tf_name("batch_normalization", index)
        for ours, theirs in (("scale", "gamma"), ("bias", "beta"), ("mean", "moving_mean"), ("var", "moving_variance")):
            put(path, ours, variables[f"{name}/{theirs}"])
    for path, name in (("dense", "dense"), ("logits", "dense_1")):
        put(path, "kernel", variables[f"{name}/kernel"])
        put(path, "bias", variables[f"{name}/bias"])
    return tree


def write_tagger(variables: dict[str, np.ndarray], folder: Path, source: str) -> None:
    """A tagger folder: params.msgpack, tagger.json (tags, provenance) and the license."""
    from flax import serialization

    from ..io.atomic import write_atomically

    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "params.msgpack", serialization.msgpack_serialize(port_parameters(variables)))
    document = {"format_version": 1, "model": "MSD_musicnn", "tags": list(MSD_TAGS),
                "input": {"sample_rate": 16000, "n_fft": 512, "hop": 256, "n_mels": 96, "patch_frames": 187,
                          "compression": "log10(1 + 10000 x)"},
                "source": source, "license": "ISC (see LICENSE.musicnn)"}
    write_atomically(folder / "tagger.json", json.dumps(document, indent=1))
    write_atomically(folder / "LICENSE.musicnn", LICENSE)


# -- the TensorFlow side (runs in an environment with TensorFlow, needs only numpy here) ----------
def dump_checkpoint(prefix: str, out: Path, reference: Path | None) -> None:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if "Adam" not in n and "power" not in n]
    np.savez(out, **{name: reader.get_tensor(name) for name in names})
    if reference is None:
        return
    from musicnn import models  # musicnn's own graph definition

    tf.compat.v1.disable_eager_execution()
    patches = np.load(reference)["patches"]
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, patches.shape[1], patches.shape[2]])
        outputs = models.define_model(x, False, "MSD_musicnn", len(MSD_TAGS))
        with tf.compat.v1.Session() as session:
            tf.compat.v1.train.Saver().restore(session, prefix)
            logits, *_, mean_pool, max_pool, penultimate = session.run(outputs, {x: patches})
    np.savez(reference, patches=patches, logits=logits, mean_pool=mean_pool, max_pool=max_pool,
             penultimate=penultimate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="musicnn's MSD_musicnn folder (from its wheel)")
    parser.add_argument("-o", "--output", type=Path, help="tagger folder to write")
    parser.add_argument("--tensorflow-python", default=sys.executable,
                        help="a Python that has TensorFlow (and, for --reference, musicnn) installed")
    parser.add_argument("--reference", type=Path, metavar="FILE.npz",
                        help="run musicnn's own graph on FILE.npz's 'patches' and store its outputs there")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # the TensorFlow side's output
    args = parser.parse_args(argv)
    prefix = f"{args.checkpoint}{os.sep}"  # the files are named .index and .data-*: an empty prefix
    if args.dump is not None:
        dump_checkpoint(prefix, args.dump, args.reference)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        dumped = Path(scratch) / "variables.npz"
        package_root = str(Path(__file__).resolve().parents[2])
        # musicnn's graph uses tf.compat.v1.layers, which needs Keras 2 (pip install tf-keras)
        env = {**os.environ, "PYTHONPATH": package_root, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_USE_LEGACY_KERAS": "1"}
        command = [args.tensorflow_python, "-m", "inteleq_rt.training.convert_musicnn", str(args.checkpoint),
                   "--dump", str(dumped)] + (["--reference", str(args.reference)] if args.reference else [])
        subprocess.run(command, env=env, check=True)
        if args.output is not None:
            with np.load(dumped) as variables:
                write_tagger(dict(variables), args.output, f"musicnn 0.1.0 wheel, {args.checkpoint.name}")
            print(f"wrote {args.output}/ (tagger.json, params.msgpack, LICENSE.musicnn)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
