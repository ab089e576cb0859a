"""Start-up probe, run as a script in a fresh interpreter by ``harness.measure_startup``:
import, engine build, first block and (with a weights folder argument) model load and compile
times, printed as one JSON line. Nothing is imported before the clock starts."""

import json
import sys
import time

clock = time.perf_counter
began = clock()
import numpy as np  # noqa: E402

from inteleq_rt.engine.config import CLASSIFIER_RING_S, EngineConfig  # noqa: E402
from inteleq_rt.engine.engine import Engine  # noqa: E402  (numba kernels load from the cache here)

imported = clock()
weights = sys.argv[1] if len(sys.argv) > 1 else ""
engine = Engine(EngineConfig(input_ring_s=CLASSIFIER_RING_S if weights else 0.0), genre="rock_pop")
built = clock()
block = np.zeros((256, 2), dtype=np.float32)
engine.process(block, np.empty_like(block))
first = clock()
entry = {"import_engine_s": imported - began, "build_engine_s": built - imported,
         "first_block_ms": (first - built) * 1e3}
if weights:
    from inteleq_rt.genre.weights import load_model

    model = load_model(weights)
    loaded = clock()
    model.warm_up()
    entry.update({"import_jax_and_load_model_s": loaded - first, "compile_forward_pass_s": clock() - loaded})
entry["total_s"] = clock() - began
print(json.dumps({k: round(v, 4) for k, v in entry.items()}))
