"""Where the service's time goes under one benchmark workload: py-spy on a fresh server, plus its
own metrics.

    python -m bench.profile [--workload g8|g32|c256] [--py-spy PATH] [--env KEY=VALUE ...]

Starts `python -m service.cli serve` on loopback, warms it up, and replays the workload (as the
service-batched / service-single modes do) while `py-spy record --threads` samples the server
at 100 Hz. Prints, per thread, the share of samples in each of a few buckets (the model's forward
pass, tokenisation, JSON and validation, the event loop, idle) and the top leaf frames, and the
server's view of the run (batches, mean batch size, model-busy fraction, queue wait).
py-spy comes from PyPI (`pip install py-spy`); without it only the metrics are printed.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.load import load
from bench.procs import metrics_snapshot, running, service_server
from bench.runner import Bench
from bench.workload import DEFAULT_MGSM, build_workload

RATE = 100  # py-spy samples per second

# (bucket, substrings of a stack, first match wins), checked from the leaf up.
BUCKETS = (
    (
        "model forward (torch/openvino)",
        ("forward (torch", "_call_impl", "infer (openvino", "infer ("),
    ),
    ("tokenisation", ("tokenize", "preprocess", "encode_batch", "count_tokens", "_batch_encode")),
    ("json + validation", ("json", "validate_python", "model_validate", "jsonable_encoder")),
    ("http (uvicorn/h11/starlette)", ("h11", "uvicorn", "starlette", "httptools")),
    ("event loop / asyncio", ("asyncio", "selectors", "_run_once")),
)


def bucket(stack: str) -> str:
    """The bucket of the frame nearest the leaf that matches one."""
    for frame in reversed(stack.split(";")):
        for name, needles in BUCKETS:
            if any(n in frame for n in needles):
                return name
    return "other"


def summarise(raw: Path, seconds: float, top: int = 12) -> str:
    """Per thread: the share of wall-clock time it was busy, by bucket; the hottest leaf frames.

    py-spy records a thread only while it is active (not waiting), so busy share = its samples /
    (RATE x seconds).
    """
    by_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        name = frames[0].split(": ", 1)[-1].rstrip('"')
        by_thread[name.rstrip("_0123456789") or name][bucket(stack)] += count
        leaves[frames[-1]] += count
        total += count
    wall = RATE * seconds
    lines = [f"{total} active samples over {seconds:.1f} s at {RATE} Hz"]
    for thread, counter in sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counter.values())
        shares = ", ".join(f"{k} {v / wall:.1%}" for k, v in counter.most_common(4))
        lines.append(f"  {thread[:40]}: busy {n / wall:.0%} of the time ({shares})")
    lines.append("  hottest leaf frames (share of active samples):")
    lines += [f"    {c / total:6.1%}  {leaf[:110]}" for leaf, c in leaves.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("g8", "g32", "c256"), default="g8")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--mgsm", default=str(DEFAULT_MGSM))
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="keep the raw py-spy file here")
    args = parser.parse_args(argv)
    group = 32 if args.workload == "g32" else 8
    workload = build_workload(args.prompts, group, mgsm_dir=Path(args.mgsm))
    if args.workload == "c256":
        requests, concurrency = Bench.single_requests(workload), 256
    else:
        requests, concurrency = Bench.grouped_requests(workload), 4
    log_dir = Path(tempfile.mkdtemp(prefix="pivot-profile-"))
    env = dict(kv.split("=", 1) for kv in args.env)
    server = service_server(env, log_dir, f"profile-{args.workload}")
    raw = args.out or log_dir / "py-spy.txt"
    with running(server):
        warm = build_workload(2, 8, mgsm_dir=Path(args.mgsm), start=0, salt="warm-up")
        load(server.url, Bench.grouped_requests(warm), 2)
        before = metrics_snapshot(server.url)
        spy = None
        if shutil.which(args.py_spy):
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--rate",
                    str(RATE),
                    "--threads",
                    "--format",
                    "raw",
                    "--output",
                    str(raw),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        result = load(server.url, requests, concurrency, deadline_s=600)
        after = metrics_snapshot(server.url)
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
            spy.wait(timeout=60)
    summary = result.summary()
    profile = Bench.server_profile(before, after, result.seconds)
    print(
        f"workload {args.workload}: {summary['items_per_s']} pairs/s, p50 {summary['p50_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, errors {summary['errors']}"
    )
    print(f"server: {profile}")
    if raw.is_file():
        print(summarise(raw, result.seconds))
        print(f"raw py-spy samples: {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
