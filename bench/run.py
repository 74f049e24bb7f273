"""Benchmark harness: `python -m bench.run [--quick] [--modes a,b] [--out DIR]` (see bench/README.md).

Measures, in one run and on this machine, the service (a real `python -m service.cli serve`
subprocess on loopback, restarted for every mode so no mode sees another's cache) against:

* the in-process model limit: sentence-transformers `encode` over the texts, batch size tuned, with
  and without deduplication;
* a naive server (bench/naive_server.py: one `encode` per request, no batching, no cache);
* infinity-emb, when its venv is set up (`python -m bench.infinity setup`).

and reports pairs/s, p50/p99 latency, peak RSS, model tokens/s and the share of the CPU's measured
fp32 matmul FLOP/s, int8 speed-up and score error, answer-consistency items/s with a latency probe,
translation tokens/s against CTranslate2 in-process, and RSS over a long cache-bound run. Prints a
table and writes JSON to `<out>/<timestamp>.json` and `<out>/latest.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench import infinity as inf
from bench.modes import DEFAULT_MODES, MODES, OPTIONAL_MODES
from bench.report import render_table, write_results
from bench.runner import Bench
from bench.targets import compute_targets
from bench.workload import DEFAULT_MGSM

__all__ = ["Bench", "compute_targets", "main", "render_table"]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
ALL_MODES = DEFAULT_MODES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small workloads (~3 minutes)")
    parser.add_argument(
        "--render", metavar="JSON", help="alone: print the table of a saved run, targets recomputed"
    )
    parser.add_argument(
        "--modes",
        default=",".join(ALL_MODES),
        help=f"comma-separated, from: {', '.join(ALL_MODES + OPTIONAL_MODES)} (default: all but "
        f"{', '.join(OPTIONAL_MODES)})",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where JSON results go")
    parser.add_argument("--mgsm", default=str(DEFAULT_MGSM), help="MGSM folder (mgsm_XX.tsv)")
    parser.add_argument("--model", default="multilingual-e5-small", help="built-in name or folder")
    parser.add_argument(
        "--batch-sizes", default="16,32,64,128", help="in-process batch sizes to try"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra PIVOT_* settings for every service start (repeatable)",
    )
    parser.add_argument("--infinity-venv", default=str(inf.DEFAULT_VENV))
    parser.add_argument("--infinity-batch", type=int, default=32, help="infinity --batch-size")
    parser.add_argument("--translation-compute-type", default="int8")
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.10,
        help="repeat a measurement when other processes took more than this share of the CPU",
    )
    parser.add_argument(
        "--service-variant",
        default=None,
        help="run every service start through bench/service_variants.py with this patch",
    )
    parser.add_argument(
        "--variants",
        default="tokfix,tokfix:subbatch16+OMP_WAIT_POLICY=PASSIVE",
        help="for the `variants` mode, comma-separated specs: bench/service_variants.py patches "
        "joined by ':', then '+KEY=VALUE' environment additions",
    )
    parser.add_argument(
        "--noise-retries", type=int, default=2, help="most repeats of a noisy measurement"
    )
    parser.add_argument(
        "--mode-timeout", type=float, default=600.0, help="longest a load loop may run, seconds"
    )
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(ALL_MODES) - set(OPTIONAL_MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The in-process limit runs torch with the OpenMP policy the service uses (`pivot-reward serve`
    # sets it): with the default busy-waiting, one other busy process on 2 cores cuts `encode` to a
    # quarter, which would make the limit, not the service, measure the machine's noise.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if argv[:1] == ["--render"] and len(argv) == 2:
        # Re-render the table (targets recomputed) of a saved run: --render FILE.json
        saved = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        saved["ratios"], saved["targets"] = compute_targets(saved)
        print(render_table(saved))
        return 0
    args = parse_args(argv)
    bench = Bench(args)
    results = bench.run(list(MODES.items()))
    results["table"] = render_table(results)
    path = write_results(results, args.out)
    print(results["table"])
    print(f"\nresults: {path} (and {args.out / 'latest.json'}); server logs: {bench.log_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
