"""Derive calibration constants for an embedding model from MGSM.

    python -m models.calibrate [MODEL_NAME_OR_DIR] [--mgsm DIR] [--write]

Parallel pairs: each non-English MGSM question with its English original. Non-parallel pairs: the
same question with a different English question (a fixed offset, so the pairing is reproducible).
Problems 0..49 are held out for the e2e test, so constants come from problems 50..249.
`--write` stores them as pivot_calibration.json in the model folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from service.scoring.calibration import derive_calibration, save_calibration
from service.settings import Settings

LANGS = ("bn", "de", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
HELD_OUT = 50
OFFSETS = (7, 31, 101)


def _questions(mgsm_dir: Path, lang: str) -> list[str]:
    lines = (mgsm_dir / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines()
    return [line.rsplit("\t", 1)[0] for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", nargs="?", default="multilingual-e5-small")
    parser.add_argument(
        "--mgsm", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/mgsm"
    )
    parser.add_argument(
        "--write", action="store_true", help="write pivot_calibration.json into the model folder"
    )
    args = parser.parse_args(argv)

    from models.registry import ensure_model
    from service.engine.embedding import SentenceTransformerEncoder

    settings = Settings()
    model_dir = Path(ensure_model(args.model, settings.cache_dir))
    encoder = SentenceTransformerEncoder(model_dir, args.model, device=settings.device)
    english = _questions(args.mgsm, "en")[HELD_OUT:]
    english_vectors = np.stack(encoder.predict_batch(english))
    parallel: list[float] = []
    non_parallel: list[float] = []
    for lang in LANGS:
        vectors = np.stack(encoder.predict_batch(_questions(args.mgsm, lang)[HELD_OUT:]))
        cosines = vectors @ english_vectors.T
        n = len(english)
        parallel += [float(cosines[i, i]) for i in range(n)]
        for offset in OFFSETS:
            non_parallel += [float(cosines[i, (i + offset) % n]) for i in range(n)]
    calibration = derive_calibration(
        parallel, non_parallel, source=f"MGSM problems {HELD_OUT}-249, {len(LANGS)} languages vs en"
    )
    report = {
        "model": args.model,
        "low": calibration.low,
        "high": calibration.high,
        "parallel_cosine": {
            "mean": float(np.mean(parallel)),
            "p5": float(np.percentile(parallel, 5)),
        },
        "non_parallel_cosine": {
            "mean": float(np.mean(non_parallel)),
            "p95": float(np.percentile(non_parallel, 95)),
        },
        "pairs": {"parallel": len(parallel), "non_parallel": len(non_parallel)},
    }
    print(json.dumps(report, indent=2))
    if args.write:
        print(f"wrote {save_calibration(model_dir, calibration)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
