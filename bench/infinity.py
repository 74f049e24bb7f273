"""infinity-emb as a peer baseline: its own venv, a compatible model folder, an equality check.

infinity-emb 0.0.78 pins sentence-transformers < 4 (and transformers 4.x), so it lives in a separate
venv. Set it up once with

    python -m bench.infinity setup [--venv .venv-infinity]

which runs: `python3 -m venv`, `pip install torch==2.13.0` (the service's torch), `pip install
"infinity-emb[all]"` (its resolver swaps torch for 2.8 + CUDA wheels because colpali-engine pins
torch < 2.9), `pip install torch==2.13.0` again so both servers run the same torch, and `pip uninstall
torchvision` (the torchvision that matches torch 2.8 fails to import on 2.13, which breaks
transformers' imports; text embeddings never need it).

The service's model folder is written by sentence-transformers 6 / transformers 5. The harness gives
infinity a copy in the old format (same weights, symlinked; config files rewritten for
sentence-transformers 3 / transformers 4, without a default prompt) and checks that infinity's
embeddings of `"query: " + text` equal ours (cosine > 0.9999) before timing it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.procs import HOST, Server, free_port

# Beside the project's own venvs (git-ignored as .venv-*/), so `make bench` finds it after setup.
DEFAULT_VENV = Path(
    os.environ.get(
        "PIVOT_BENCH_INFINITY_VENV", Path(__file__).resolve().parent.parent / ".venv-infinity"
    )
)
TORCH_SPEC = "torch==2.13.0"
MIN_COSINE = 0.9999
# Telemetry off and no hub look-ups: loopback only.
INFINITY_ENV = {
    "DO_NOT_TRACK": "1",
    "INFINITY_ANONYMOUS_USAGE_STATS": "0",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def executable(venv: Path) -> Path:
    return venv / "bin" / "infinity_emb"


def installed_versions(venv: Path) -> dict[str, str] | None:
    python = venv / "bin" / "python"
    if not executable(venv).is_file() or not python.is_file():
        return None
    code = (
        "import json, torch, infinity_emb, sentence_transformers, transformers;"
        "print(json.dumps({'infinity_emb': infinity_emb.__version__, 'torch': torch.__version__,"
        "'sentence_transformers': sentence_transformers.__version__,"
        "'transformers': transformers.__version__}))"
    )
    result = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **INFINITY_ENV},
    )
    if result.returncode != 0:
        return None
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def setup(venv: Path) -> int:
    """Create the venv and install infinity-emb in it (see the module docstring)."""
    steps: list[list[str]] = [
        ["python3", "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", TORCH_SPEC],
        [str(venv / "bin" / "pip"), "install", "infinity-emb[all]"],
        [str(venv / "bin" / "pip"), "install", TORCH_SPEC],
        [str(venv / "bin" / "pip"), "uninstall", "-y", "torchvision"],
    ]
    for step in steps:
        print("+", " ".join(step), flush=True)
        code = subprocess.call(step)
        if code != 0 and step[-1] != "torchvision":
            print(f"step failed with exit code {code}", file=sys.stderr)
            return code
    print(json.dumps(installed_versions(venv), indent=2))
    return 0


def compatible_copy(model_dir: Path, target: Path) -> Path:
    """The same weights in a folder sentence-transformers 3 / transformers 4 read as intended."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "tokenizer.json"):
        link = target / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((model_dir / name).resolve())
    config = json.loads((model_dir / "config.json").read_text())
    config["transformers_version"] = "4.57.6"
    config.pop("dtype", None)
    config["torch_dtype"] = "float32"
    (target / "config.json").write_text(json.dumps(config, indent=2))
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    old = {
        "__version__": {
            "sentence_transformers": "3.4.1",
            "transformers": "4.57.6",
            "pytorch": "2.13.0",
        },
        "prompts": st_config.get("prompts", {}),
        # No default prompt: the client sends "query: " itself, as infinity ignores prompts.
        "default_prompt_name": None,
        "similarity_fn_name": st_config.get("similarity_fn_name", "cosine"),
    }
    (target / "config_sentence_transformers.json").write_text(json.dumps(old, indent=2))
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    tokenizer_config.pop("split_special_tokens", None)
    (target / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    for name in ("modules.json", "sentence_bert_config.json"):
        shutil.copyfile(model_dir / name, target / name)
    for sub in ("1_Pooling", "2_Normalize"):
        if (model_dir / sub).is_dir():
            shutil.copytree(model_dir / sub, target / sub, dirs_exist_ok=True)
    return target


def infinity_server(venv: Path, model_dir: Path, log_dir: Path, batch_size: int = 32) -> Server:
    port = free_port()
    return Server(
        name="infinity",
        argv=[
            str(executable(venv)),
            "v2",
            "--model-id",
            str(model_dir),
            "--engine",
            "torch",
            "--device",
            "cpu",
            "--batch-size",
            str(batch_size),
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-vector-disk-cache",
        ],
        env=INFINITY_ENV,
        port=port,
        ready_path="/health",
        log_path=log_dir / "infinity.log",
        startup_timeout_s=300,
    )


def served_model_id(url: str) -> str:
    return str(httpx.get(url + "/models", timeout=10).json()["data"][0]["id"])


def embed(url: str, model_id: str, texts: Sequence[str], prefix: str) -> np.ndarray:
    body: dict[str, Any] = {"model": model_id, "input": [prefix + t for t in texts]}
    data = httpx.post(url + "/embeddings", json=body, timeout=300).json()["data"]
    vectors = np.asarray(
        [d["embedding"] for d in sorted(data, key=lambda d: d["index"])], dtype=np.float32
    )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def check_equal(
    url: str, model_id: str, texts: Sequence[str], reference: np.ndarray, prefix: str
) -> dict[str, float]:
    vectors = embed(url, model_id, texts, prefix)
    cosines = np.sum(vectors * reference, axis=1)
    return {
        "min_cosine": float(cosines.min()),
        "mean_cosine": float(cosines.mean()),
        "texts": len(texts),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="infinity-emb baseline set-up")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("setup", help="create the venv and install infinity-emb")
    cmd.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    info = sub.add_parser("info", help="print the installed versions")
    info.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args(argv)
    if args.command == "setup":
        started = time.perf_counter()
        code = setup(args.venv)
        print(f"took {time.perf_counter() - started:.0f} s")
        return code
    print(json.dumps(installed_versions(args.venv), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
