"""translation: /v1/translate tokens/s against CTranslate2 in-process on the same token sequences."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.load import json_request
from bench.procs import Server
from bench.runner import Bench, loadavg, log


def run(bench: Bench) -> None:
    sizes = bench.sizes
    out: dict[str, Any] = {"loadavg_before": loadavg()}
    bench.results["translation"] = out
    try:
        import ctranslate2

        from service.engine.translator import NllbTranslator
        from tests.fixtures.tiny_nllb import build_tiny_nllb
    except ImportError as exc:
        out["error"] = f"cannot import the translation stack: {exc}"
        return
    t0 = time.perf_counter()
    tiny = build_tiny_nllb(bench.bench_cache / "tiny-nllb")
    out["model"] = {
        "path": str(tiny.ct2_dir),
        "build_s": round(time.perf_counter() - t0, 1),
        "spec": "tests/fixtures/tiny_nllb.py (d_model 32, 2+2 layers)",
    }
    compute_type = bench.args.translation_compute_type
    max_length = 64
    # MGSM questions in the fixture's languages, to English.
    from bench.workload import load_problems

    problems = load_problems(bench.mgsm)
    langs = ("de", "fr", "es", "sw", "ru")
    texts, sources = [], []
    i = 0
    while len(texts) < sizes.translation_texts:
        # Problem p in language (p + k) % 5 for k = i // 250: no text repeats.
        problem = problems[i % len(problems)]
        lang = langs[(i + i // len(problems)) % len(langs)]
        suffix = "" if i < len(problems) * len(langs) else f" ({i})"
        texts.append(problem.questions[lang] + suffix)
        sources.append(lang)
        i += 1
    assert len(set(texts)) == len(texts), "translation inputs must be distinct (cache)"
    out["texts"] = len(texts)
    out["request_size"] = sizes.translation_request
    out["compute_type"] = compute_type
    out["max_length"] = max_length

    # The limit: ctranslate2.Translator.translate_batch on the same token sequences.
    wrapper = NllbTranslator(tiny.ct2_dir, device="cpu", compute_type=compute_type)
    prepared, _ = wrapper.prepare_sources(texts, sources)
    input_tokens = sum(len(s) for s in prepared)
    direct = ctranslate2.Translator(
        str(tiny.ct2_dir),
        device="cpu",
        compute_type=compute_type,
        inter_threads=1,
        intra_threads=0,
    )
    options = {
        "beam_size": 1,
        "num_hypotheses": 1,
        "max_decoding_length": max_length + 1,
        "max_input_length": wrapper.max_input_tokens,
        "return_scores": False,
    }
    target = [["eng_Latn"]]
    direct.translate_batch(prepared[:8], target_prefix=target * 8, **options)
    variants: dict[str, float] = {}
    outputs: list[Any] = []
    for label, chunk, sort in (
        ("chunks_of_request_size", sizes.translation_request, False),
        ("chunks_of_64_length_sorted", 64, True),
        ("one_call_max_batch_size_64", 0, False),
    ):
        order = (
            sorted(range(len(prepared)), key=lambda k: len(prepared[k]))
            if sort
            else list(range(len(prepared)))
        )
        seqs = [prepared[k] for k in order]

        def call(
            seqs: list[list[str]] = seqs, chunk: int = chunk, direct: Any = direct
        ) -> list[Any]:
            if not chunk:
                return list(
                    direct.translate_batch(
                        seqs, target_prefix=target * len(seqs), max_batch_size=64, **options
                    )
                )
            found: list[Any] = []
            for s in range(0, len(seqs), chunk):
                part = seqs[s : s + chunk]
                found += direct.translate_batch(part, target_prefix=target * len(part), **options)
            return found

        seconds, results, _ = bench.timed(f"translation direct {label}", call)
        variants[label] = seconds
        if label == "chunks_of_request_size":
            outputs = results
    best_label = min(variants, key=lambda k: variants[k])
    direct_s = variants[best_label]
    output_tokens = sum(max(0, len(r.hypotheses[0]) - 1) for r in outputs)
    out["direct"] = {
        "variants_s": {k: round(v, 3) for k, v in variants.items()},
        "best": best_label,
        "seconds": round(direct_s, 3),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_tokens_per_s": round(input_tokens / direct_s, 1),
        "output_tokens_per_s": round(output_tokens / direct_s, 1),
    }
    # The in-process Python wrapper (tokenise + CTranslate2 + detokenise), for the breakdown.
    t0 = time.perf_counter()
    for s in range(0, len(texts), sizes.translation_request):
        wrapper.translate_batch(
            texts[s : s + sizes.translation_request],
            sources[s : s + sizes.translation_request],
            "eng_Latn",
            max_length=max_length,
        )
    wrapped_s = time.perf_counter() - t0
    out["inproc_wrapper"] = {
        "seconds": round(wrapped_s, 3),
        "input_tokens_per_s": round(input_tokens / wrapped_s, 1),
    }
    del direct, wrapper
    # Through the service.
    requests = [
        json_request(
            "/v1/translate",
            {
                "texts": texts[s : s + sizes.translation_request],
                "source_langs": sources[s : s + sizes.translation_request],
                "target_lang": "en",
                "max_length": max_length,
            },
            len(texts[s : s + sizes.translation_request]),
        )
        for s in range(0, len(texts), sizes.translation_request)
    ]

    def make_server() -> Server:
        return bench.service(
            "translation",
            PIVOT_TRANSLATION_MODEL=str(tiny.ct2_dir),
            PIVOT_TRANSLATION_COMPUTE_TYPE=compute_type,
        )

    def warm(s: Server) -> None:
        with httpx.Client(base_url=s.url, timeout=300) as client:
            client.post(
                "/v1/translate",
                json={
                    "texts": ["Guten Morgen.", "Bonjour."],
                    "source_langs": ["de", "fr"],
                    "target_lang": "en",
                    "max_length": 8,
                },
            ).raise_for_status()

    def keep(payload: Any) -> list[tuple[str, int]]:
        return [(t["text"], t["output_tokens"]) for t in payload["translations"]]

    for concurrency in (1, 2):
        name = f"service-translate-c{concurrency}"
        result = bench.http_mode(
            name,
            make_server,
            requests,
            concurrency,
            [],
            keep=keep,
            warm=warm,
            extra={"form": f"/v1/translate, {sizes.translation_request} texts per request"},
        )
        if result is None:
            continue
        entry = bench.results["modes"][name]
        for key in (
            "model_texts",
            "model_tokens",
            "model_tokens_per_s",
            "model_gflops",
            "share_of_peak_flops",
        ):
            entry.pop(key, None)
        entry["texts_per_s"] = entry.pop("pairs_per_s")
        got = [t for r in result.responses if r for t in r]
        service_output = sum(n for _, n in got)
        entry["input_tokens_per_s"] = round(input_tokens / result.seconds, 1)
        entry["output_tokens"] = service_output
        entry["output_tokens_per_s"] = round(service_output / result.seconds, 1)
        entry["ratio_vs_direct"] = round(direct_s / result.seconds, 3)
        entry["same_output_tokens_as_direct"] = service_output == output_tokens
    ratios = [
        bench.results["modes"][n]["ratio_vs_direct"]
        for n in ("service-translate-c1", "service-translate-c2")
        if "ratio_vs_direct" in bench.results["modes"].get(n, {})
    ]
    out["ratio_vs_direct"] = max(ratios) if ratios else None
    out["loadavg_after"] = loadavg()
    log(f"translation: service/direct = {out['ratio_vs_direct']}")
