"""The baseline a user would write: FastAPI, one `model.encode` per request, nothing else.

No micro-batching across requests, no cache, no deduplication: every pair's candidate and reference
are embedded in one `encode` call per request. It speaks the same `/v1/similarity` JSON as the
service (pairs, or one reference + candidates, expanded to pairs), so the harness can send both the
same requests.

    python -m bench.naive_server --model DIR [--host 127.0.0.1] [--port 8100] [--handler async|sync]

`--handler async` (default) calls `encode` inside an `async def` handler, so requests are served
one at a time; `sync` uses a plain `def` handler, which FastAPI runs in its thread pool, so up to 40
`encode` calls run at once and oversubscribe the CPU (and can trip the tokenizer's "Already
borrowed" error under load).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Pair(BaseModel):
    candidate: str
    reference: str


class SimilarityRequest(BaseModel):
    pairs: list[Pair] | None = None
    reference: str | None = None
    candidates: list[str] | None = None


def create_app(model_dir: str, handler: str = "async") -> FastAPI:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    model.eval()
    app = FastAPI(title="naive similarity server")

    def score(request: SimilarityRequest) -> dict[str, Any]:
        if request.pairs is not None:
            candidates = [p.candidate for p in request.pairs]
            references = [p.reference for p in request.pairs]
        else:
            candidates = list(request.candidates or [])
            references = [request.reference or ""] * len(candidates)
        vectors = model.encode(
            candidates + references, prompt_name="query", normalize_embeddings=True
        )
        n = len(candidates)
        cosines = np.sum(vectors[:n] * vectors[n:], axis=1)
        return {"results": [{"cosine": float(c)} for c in cosines]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if handler == "sync":

        @app.post("/v1/similarity")
        def similarity_sync(request: SimilarityRequest) -> dict[str, Any]:
            return score(request)

    else:

        @app.post("/v1/similarity")
        async def similarity(request: SimilarityRequest) -> dict[str, Any]:
            return score(request)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="sentence-transformers model folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--handler", choices=("async", "sync"), default="async")
    args = parser.parse_args()
    app = create_app(args.model, args.handler)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
