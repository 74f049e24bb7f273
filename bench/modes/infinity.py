"""infinity: infinity-emb (its own venv, see bench/infinity.py) on one pair per request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench import infinity as inf
from bench.load import Request
from bench.procs import Server
from bench.runner import Bench, log


def run(bench: Bench, batched: bool = False) -> None:
    venv = Path(bench.args.infinity_venv)
    status: dict[str, Any] = {"venv": str(venv)}
    bench.results["infinity"] = status
    versions = inf.installed_versions(venv)
    if versions is None:
        status["status"] = "not installed"
        status["why"] = (
            f"no working infinity-emb in {venv}; set it up with "
            f"`python -m bench.infinity setup --venv {venv}` (see bench/README.md)"
        )
        log(f"infinity: {status['why']}")
        return
    status["versions"] = versions
    folder = inf.compatible_copy(bench.model_dir, bench.bench_cache / "infinity-model")
    status["model_folder"] = str(folder)
    status["model_folder_note"] = (
        "same weights (symlinked); config.json, config_sentence_transformers.json and "
        "tokenizer_config.json rewritten in the sentence-transformers 3 / transformers 4 "
        "format, without a default prompt (the client sends 'query: ' itself)"
    )
    check_texts = bench.g8.unique_texts()[:32]
    reference = bench.encode(bench.st_model, check_texts, 32)

    def make_server() -> Server:
        return inf.infinity_server(
            venv, folder, bench.log_dir, batch_size=bench.args.infinity_batch
        )

    state: dict[str, Any] = {}

    def warm(s: Server) -> None:
        model_id = inf.served_model_id(s.url)
        state["model_id"] = model_id
        check = inf.check_equal(s.url, model_id, check_texts, reference, bench.prompt)
        status["equality_check"] = check
        log(f"infinity: equality check {check}")
        if check["min_cosine"] < inf.MIN_COSINE:
            raise RuntimeError(
                f"infinity's embeddings differ from ours (min cosine {check['min_cosine']:.6f})"
            )
        inf.embed(s.url, model_id, [f"warm-up {i}" for i in range(8)], bench.prompt)

    # The bodies name the served model id, known only once the server is up: filled at warm-up.
    prompt = bench.prompt
    pairs = list(bench.g8.iter_pairs())
    requests = [Request("/embeddings", b"", 1) for _ in pairs]

    def warm_and_fill(s: Server) -> None:
        warm(s)
        model_id = state["model_id"]
        for request, (candidate, ref) in zip(requests, pairs, strict=True):
            request.body = json.dumps(
                {"model": model_id, "input": [prompt + candidate, prompt + ref]},
                ensure_ascii=False,
            ).encode("utf-8")

    def keep_cosine(payload: Any) -> float:
        data = sorted(payload["data"], key=lambda d: d["index"])
        a = np.asarray(data[0]["embedding"], dtype=np.float32)
        b = np.asarray(data[1]["embedding"], dtype=np.float32)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    status["batch_size"] = bench.args.infinity_batch
    result = bench.http_mode(
        "infinity-single-c64",
        make_server,
        requests,
        64,
        bench.g8.all_texts(),
        keep=keep_cosine,
        warm=warm_and_fill,
        extra={"form": "POST /embeddings with [candidate, reference], cosine client-side"},
    )
    if result is not None and "equality_check" in status:
        status["status"] = "measured"
        cosines = np.array([c for c in result.responses if c is not None])
        fp32 = bench.fp32_vectors
        if fp32 and len(cosines) == bench.g8.pairs:
            ours = np.array([float(np.dot(fp32[c], fp32[r])) for c, r in pairs])
            status["max_abs_cosine_diff_vs_inproc"] = round(float(np.abs(ours - cosines).max()), 6)
    else:
        status["status"] = "failed"
        status["why"] = bench.results["modes"]["infinity-single-c64"].get("error")
    if batched and status.get("status") == "measured":
        grouped = [Request("/embeddings", b"", len(p.rollouts)) for p in bench.g8.prompts]

        def warm_grouped(s: Server) -> None:
            warm(s)
            for request, p in zip(grouped, bench.g8.prompts, strict=True):
                request.body = json.dumps(
                    {
                        "model": state["model_id"],
                        "input": [prompt + t for t in [p.reference, *p.rollouts]],
                    },
                    ensure_ascii=False,
                ).encode("utf-8")

        bench.http_mode(
            "infinity-batched-g8",
            make_server,
            grouped,
            bench.sizes.batched_concurrency,
            bench.g8.unique_texts(),
            warm=warm_grouped,
            extra={"form": "POST /embeddings with [reference, *candidates] (G+1 texts)"},
        )
