"""One module per benchmark mode; each exposes `run(bench)` (see bench/README.md for what each measures).

`MODES` is the order a run follows; `python -m bench.run --modes a,b` picks from it.
"""

from __future__ import annotations

from bench.modes import (
    consistency,
    fidelity,
    flops,
    infinity,
    inproc,
    memory,
    naive,
    service,
    translation,
    variants,
)
from bench.runner import Bench, Mode

MODES: dict[str, Mode] = {
    "flops": flops.run,
    "inproc": inproc.run,
    "service-batched": service.run_batched,
    "service-single": service.run_single,
    "naive-batched": naive.run_batched,
    "naive-single": lambda bench: naive.run_single(bench, (64,)),
    "naive-single-c256": lambda bench: naive.run_single(bench, (256,)),
    "infinity": lambda bench: infinity.run(bench, "infinity-batched" in bench.modes),
    "fidelity": fidelity.run,
    "variants": variants.run,
    "consistency": consistency.run,
    "translation": translation.run,
    "memory": memory.run,
}
# Not run unless named in --modes (infinity-batched is run by the infinity mode).
OPTIONAL_MODES = ("naive-single-c256", "infinity-batched", "variants")
DEFAULT_MODES = tuple(m for m in MODES if m not in OPTIONAL_MODES)

__all__ = ["DEFAULT_MODES", "MODES", "OPTIONAL_MODES", "Bench"]
