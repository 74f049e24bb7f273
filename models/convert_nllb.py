"""Convert an NLLB-200 checkpoint to a CTranslate2 folder the service can load offline.

Run where the model hub is reachable (or on a local Hugging Face folder)::

    python -m models.convert_nllb facebook/nllb-200-distilled-600M models/nllb-600m-int8 \
        --quantization int8

It wraps ``ct2-transformers-converter --model ... --output_dir ... --quantization ...
--copy_files <tokenizer files>`` so that the tokenizer travels with the weights, then loads the
result once with the service's own translator as a check.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# What an NLLB-200 checkpoint ships for its tokenizer; only the ones present are copied.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
)
# int8 for CPU serving; float16 / int8_float16 for CUDA; float32 keeps the weights exact.
QUANTIZATIONS = ("int8", "int8_float16", "int8_float32", "float16", "bfloat16", "float32")


class ConversionError(RuntimeError):
    """The checkpoint could not be converted."""


def tokenizer_files(model: str, revision: str | None = None) -> list[str]:
    """The tokenizer files `model` (a local folder or a hub id) actually has."""
    local = Path(model)
    if local.is_dir():
        return [name for name in TOKENIZER_FILES if (local / name).is_file()]
    try:
        from huggingface_hub import list_repo_files

        available = set(list_repo_files(model, revision=revision))
    except Exception as exc:  # offline, gated or unknown repo: let the converter report it
        print(f"warning: cannot list files of {model} ({exc}); assuming the NLLB-200 set")
        return list(TOKENIZER_FILES)
    return [name for name in TOKENIZER_FILES if name in available]


def converter_command() -> list[str]:
    """`ct2-transformers-converter`, preferably the console script of this interpreter's env."""
    script = Path(sys.executable).with_name("ct2-transformers-converter")
    if script.is_file():
        return [str(script)]
    found = shutil.which("ct2-transformers-converter")
    if found:
        return [found]
    # `-m ctranslate2.converters.transformers` warns about a double import; call main() instead.
    return [sys.executable, "-c", "from ctranslate2.converters.transformers import main; main()"]


def convert(
    model: str,
    output_dir: Path,
    *,
    quantization: str = "int8",
    revision: str | None = None,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Convert `model` into `output_dir` with its tokenizer files copied; returns `output_dir`."""
    if quantization not in QUANTIZATIONS:
        raise ConversionError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
    local = Path(model).expanduser()
    if not local.is_dir() and (
        local.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1
    ):
        raise ConversionError(f"{model} looks like a local folder but does not exist")
    if local.is_dir():
        model = str(local)
    files = tokenizer_files(model, revision)
    if "tokenizer.json" not in files and "sentencepiece.bpe.model" not in files:
        raise ConversionError(
            f"{model} has neither tokenizer.json nor sentencepiece.bpe.model; "
            "the service needs the tokenizer next to the converted weights"
        )
    command = [
        *converter_command(),
        "--model",
        model,
        "--output_dir",
        str(output_dir),
        "--quantization",
        quantization,
        "--copy_files",
        *files,
    ]
    if revision:
        command += ["--revision", revision]
    if force:
        command.append("--force")
    if not quiet:
        print("running:", " ".join(command), flush=True)
    completed = subprocess.run(command, capture_output=quiet, text=True, check=False)
    if completed.returncode != 0:
        detail = (completed.stderr or "")[-2000:] if quiet else "see the output above"
        raise ConversionError(
            f"ct2-transformers-converter failed ({completed.returncode}): {detail}"
        )
    return output_dir


def check(output_dir: Path) -> str:
    """Load the converted folder as the service will and translate one sentence (CPU)."""
    from service.engine.translator import NllbTranslator

    translator = NllbTranslator(output_dir, device="cpu")
    result = translator.translate_batch(["Hello, how are you?"], ["en"], "fr", max_length=32)[0]
    return result.text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.convert_nllb",
        description="Convert an NLLB-200 checkpoint (hub id or local folder) to CTranslate2.",
    )
    parser.add_argument("model", help="hub id, e.g. facebook/nllb-200-distilled-600M, or a folder")
    parser.add_argument("output_dir", type=Path, help="where to write the CTranslate2 model")
    parser.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        default="int8",
        help="weight type: int8 for CPU, float16 or int8_float16 for CUDA (default: int8)",
    )
    parser.add_argument("--revision", help="hub revision (branch, tag or commit)")
    parser.add_argument("--force", action="store_true", help="overwrite output_dir")
    parser.add_argument(
        "--skip-check", action="store_true", help="do not load and try the converted model"
    )
    args = parser.parse_args(argv)
    try:
        convert(
            args.model,
            args.output_dir,
            quantization=args.quantization,
            revision=args.revision,
            force=args.force,
        )
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.skip_check:
        print(f"check (en -> fr): {check(args.output_dir)!r}")
    print(f"done: set the service's translation model path to {args.output_dir.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
