"""NLLB-200 translation on CTranslate2: synchronous model code run on the translation model thread.

Tokenization follows transformers' own `NllbTokenizer` (loaded offline from the files the
conversion copies next to `model.bin`), so the token ids we feed CTranslate2 are exactly what
`tokenizer(text)` with `tokenizer.src_lang = <code>` produces:

* default (`legacy_behaviour=False`, the NLLB-200 checkpoints): ``[src_lang] + tokens + ["</s>"]``
* legacy (`legacy_behaviour=True` in tokenizer_config.json): ``tokens + ["</s>", src_lang]``

The target side is forced with ``target_prefix=[[tgt_lang]]``; this equals transformers'
``generate(..., forced_bos_token_id=<tgt_lang id>)`` after the ``</s>`` decoder start token.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.scoring.languages import UnknownLanguageError, to_flores

logger = logging.getLogger(__name__)

# Every NLLB-200 checkpoint has 1024 positions; used when the tokenizer does not state a limit.
DEFAULT_MAX_POSITIONS = 1024
# transformers' sentinel for "no limit" is int(1e30); anything this large is not a real limit.
_NO_LIMIT = 1_000_000
_FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
# Files the tokenizer can be rebuilt from; tokenizer.json needs no protobuf, so it is preferred.
TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model")
CONVERT_HINT = (
    "Create one where the model hub is reachable with "
    "`python -m models.convert_nllb facebook/nllb-200-distilled-600M OUT_DIR --quantization int8` "
    "(see models/README_nllb.md) and point the service at OUT_DIR."
)


class TranslationModelError(RuntimeError):
    """The translation model folder cannot be used (missing, not converted, no tokenizer)."""


class UnsupportedLanguageError(UnknownLanguageError):
    """A valid FLORES-200 code that this model has no language token for (a request error)."""


@dataclass(frozen=True, slots=True)
class TranslationOutput:
    """One translation and what it cost."""

    text: str
    output_tokens: int  # generated tokens, language tag and </s> excluded
    input_tokens: int  # tokens the encoder saw, special tokens included (after truncation)
    truncated: bool  # the source was longer than the model accepts and was cut
    token_ids: tuple[int, ...] = ()  # generated token ids (language tag and </s> excluded)


def resolve_ct2_device(device: str) -> str:
    """`auto` -> `cuda` when CTranslate2 sees a GPU, else `cpu`."""
    if device not in ("auto", "cpu", "cuda"):
        raise TranslationModelError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(device: str, compute_type: str | None) -> str:
    """The compute type to load with: validated when given, else float16 on CUDA, int8 on CPU."""
    import ctranslate2

    try:
        supported = set(ctranslate2.get_supported_compute_types(device))
    except (RuntimeError, ValueError) as exc:
        raise TranslationModelError(f"CTranslate2 cannot use device {device!r}: {exc}") from exc
    if compute_type is None:
        preferred = (
            ("float16", "int8_float16", "float32") if device == "cuda" else ("int8", "float32")
        )
        for candidate in preferred:
            if candidate in supported:
                return candidate
        return "default"
    # CTranslate2's own pseudo-types pick something supported by themselves.
    if compute_type in ("default", "auto") or compute_type in supported:
        return compute_type
    raise TranslationModelError(
        f"compute type {compute_type!r} is not supported on {device}; "
        f"supported here: {', '.join(sorted(supported))} (recommended: "
        f"{'float16 or int8_float16' if device == 'cuda' else 'int8'})"
    )


def check_model_dir(model_dir: Path) -> None:
    """Raise `TranslationModelError` saying what is missing when `model_dir` is not usable."""
    if not model_dir.is_dir():
        raise TranslationModelError(
            f"translation model folder {model_dir} does not exist. Expected a CTranslate2-converted "
            f"NLLB-200 folder (model.bin, config.json, shared_vocabulary.json and the tokenizer "
            f"files). {CONVERT_HINT}"
        )
    if not (model_dir / "model.bin").is_file():
        looks_hf = (
            any(model_dir.glob("*.safetensors")) or (model_dir / "pytorch_model.bin").is_file()
        )
        what = (
            "a Hugging Face checkpoint, not a CTranslate2 model"
            if looks_hf
            else "not a CTranslate2 model"
        )
        raise TranslationModelError(
            f"{model_dir} is {what}: there is no model.bin. Convert it with "
            f"`python -m models.convert_nllb {model_dir} OUT_DIR --quantization int8` and point the "
            f"service at OUT_DIR. {CONVERT_HINT}"
        )
    if not any((model_dir / name).is_file() for name in TOKENIZER_FILES):
        raise TranslationModelError(
            f"{model_dir} has model.bin but no tokenizer (expected tokenizer.json and "
            f"tokenizer_config.json, as copied by the conversion). Re-run the conversion with "
            f"`python -m models.convert_nllb`, which copies them, or copy them from the original "
            f"checkpoint into {model_dir}."
        )


class NllbTranslator:
    """A CTranslate2-converted NLLB-200 model and its tokenizer, loaded offline from one folder.

    Thread-safe for concurrent `translate_batch` / `count_tokens` calls: the Rust tokenizer is only
    read after loading, and `ctranslate2.Translator` queues calls itself.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "auto",
        compute_type: str | None = None,
        inter_threads: int = 1,
        intra_threads: int = 0,
        max_input_tokens: int | None = None,
    ) -> None:
        model_dir = Path(model_dir)
        check_model_dir(model_dir)
        self.model_dir = model_dir
        self.name = model_dir.name
        self.device = resolve_ct2_device(device)
        self.compute_type = resolve_compute_type(self.device, compute_type)
        self._tokenizer = _load_tokenizer(model_dir)

        # Use the Rust backend directly: the transformers wrapper re-configures truncation and
        # padding on every call (not thread-safe), and its encode is exactly this call anyway.
        backend = self._tokenizer.backend_tokenizer
        backend.no_truncation()
        backend.no_padding()
        self._backend = backend
        self._vocab: dict[str, int] = dict(self._tokenizer.get_vocab())
        self.eos_token: str = str(self._tokenizer.eos_token)
        self._unk_id = int(self._tokenizer.unk_token_id)
        self.legacy_behaviour = bool(getattr(self._tokenizer, "legacy_behaviour", False))
        self._truncate_left = getattr(self._tokenizer, "truncation_side", "right") == "left"
        self.languages: frozenset[str] = frozenset(t for t in self._vocab if _FLORES_CODE.match(t))
        if not self.languages:
            raise TranslationModelError(
                f"the tokenizer in {model_dir} has no NLLB language-code tokens (e.g. eng_Latn); "
                f"this is not an NLLB-200 model. {CONVERT_HINT}"
            )
        tokenizer_limit = int(getattr(self._tokenizer, "model_max_length", 0) or 0)
        model_limit = tokenizer_limit if 0 < tokenizer_limit < _NO_LIMIT else DEFAULT_MAX_POSITIONS
        # Encoder inputs and decoder outputs share the model's position table.
        self.max_positions = model_limit
        self.max_input_tokens = min(max_input_tokens or model_limit, model_limit)
        if self.max_input_tokens < 3:
            raise TranslationModelError(
                f"max_input_tokens must be >= 3, got {self.max_input_tokens}"
            )
        self.max_output_tokens = model_limit - 1  # one decoder position holds the language tag
        specials = {str(t) for t in self._tokenizer.all_special_tokens}
        _check_ct2_vocabulary(model_dir, set(self._vocab), set(self.languages) | specials)
        # Loaded last: the checks above are cheap and catch most broken folders first.
        self._translator = _load_translator(
            model_dir, self.device, self.compute_type, inter_threads, intra_threads
        )

        logger.info(
            "loaded NLLB translator %s on %s (%s), %d languages, max %d input tokens",
            model_dir,
            self.device,
            self.compute_type,
            len(self.languages),
            self.max_input_tokens,
        )

    # --- languages ---------------------------------------------------------------------------

    def language_token(self, code: str) -> str:
        """The model's language token for an ISO 639-1 or FLORES-200 code."""
        flores = to_flores(code)
        if flores not in self.languages:
            raise UnsupportedLanguageError(
                code,
                f"language {flores} is not in this translation model",
                tuple(sorted(self.languages))[:11],
            )
        return flores

    # --- tokens --------------------------------------------------------------------------------

    def _encode(self, texts: Sequence[str]) -> list[list[str]]:
        """Sub-word tokens of each text, without special tokens."""
        return [
            encoding.tokens
            for encoding in self._backend.encode_batch(list(texts), add_special_tokens=False)
        ]

    def _fit(self, tokens: list[str]) -> tuple[list[str], bool]:
        """Cut the text tokens so that they plus the two special tokens fit the encoder."""
        room = self.max_input_tokens - 2
        if len(tokens) <= room:
            return tokens, False
        return (tokens[-room:] if self._truncate_left else tokens[:room]), True

    def _source(self, tokens: list[str], lang: str) -> list[str]:
        if self.legacy_behaviour:
            return [*tokens, self.eos_token, lang]
        return [lang, *tokens, self.eos_token]

    def prepare_sources(
        self, texts: Sequence[str], source_langs: Sequence[str]
    ) -> tuple[list[list[str]], list[bool]]:
        """Encoder token sequences (language tag and </s> placed as transformers does, truncated
        to the input limit) and whether each text was truncated."""
        if len(texts) != len(source_langs):
            raise ValueError(f"{len(texts)} texts but {len(source_langs)} source languages")
        tags = [self.language_token(code) for code in source_langs]
        sources: list[list[str]] = []
        truncated: list[bool] = []
        for tokens, tag in zip(self._encode(texts), tags, strict=True):
            kept, cut = self._fit(tokens)
            sources.append(self._source(kept, tag))
            truncated.append(cut)
        return sources, truncated

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Encoder tokens per text (language tag and </s> included, capped at the input limit).

        Independent of the source language, so it can be used for token budgets before the
        request's languages are resolved.
        """
        return [min(len(tokens) + 2, self.max_input_tokens) for tokens in self._encode(texts)]

    # --- translation ---------------------------------------------------------------------------

    def translate_batch(
        self,
        texts: list[str],
        source_langs: list[str],
        target_lang: str,
        *,
        beam_size: int = 1,
        max_length: int = 256,
    ) -> list[TranslationOutput]:
        """Translate `texts[i]` from `source_langs[i]` into `target_lang`, order preserved.

        `max_length` bounds the generated tokens (language tag excluded) and is clamped to what
        the model's position table allows. Over-long sources are truncated and flagged.
        """
        if len(texts) != len(source_langs):
            raise ValueError(f"{len(texts)} texts but {len(source_langs)} source languages")
        if beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {beam_size}")
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        if not texts:
            return []
        target = self.language_token(target_lang)
        sources, truncated = self.prepare_sources(texts, source_langs)

        # CTranslate2 counts the target prefix in max_decoding_length, as transformers counts the
        # forced BOS in max_new_tokens.
        decoding_length = min(max_length, self.max_output_tokens) + 1
        results = self._translator.translate_batch(
            sources,
            target_prefix=[[target]] * len(sources),
            beam_size=beam_size,
            num_hypotheses=1,
            max_decoding_length=decoding_length,
            max_input_length=self.max_input_tokens,
            return_scores=False,
        )
        assert len(results) == len(texts), "CTranslate2 returned a different number of results"

        generated: list[list[int]] = []
        for result in results:
            hypothesis: list[str] = result.hypotheses[0]
            if hypothesis and hypothesis[0] == target:
                hypothesis = hypothesis[1:]
            # CTranslate2's vocabulary may pad the tokenizer's with `madeupword` entries.
            generated.append([self._vocab.get(token, self._unk_id) for token in hypothesis])
        decoded: list[str] = self._tokenizer.batch_decode(generated, skip_special_tokens=True)
        outputs = [
            TranslationOutput(
                text=text,
                output_tokens=len(ids),
                input_tokens=len(source),
                truncated=cut,
                token_ids=tuple(ids),
            )
            for text, ids, source, cut in zip(decoded, generated, sources, truncated, strict=True)
        ]
        assert len(outputs) == len(texts)
        return outputs

    def warmup(self) -> None:
        """Translate one short text so the first request does not pay for lazy initialisation."""
        source = "eng_Latn" if "eng_Latn" in self.languages else min(self.languages)
        target = "fra_Latn" if "fra_Latn" in self.languages else source
        self.translate_batch(["Hello, world."], [source], target, max_length=8)


def _load_tokenizer(model_dir: Path) -> Any:
    """transformers' tokenizer for the folder, offline."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    except Exception as exc:  # transformers raises many types here; all mean "unusable"
        raise TranslationModelError(
            f"cannot load the tokenizer from {model_dir}: {exc}. Expected tokenizer.json and "
            f"tokenizer_config.json from the original NLLB checkpoint (the conversion copies them)."
        ) from exc


def _load_translator(
    model_dir: Path, device: str, compute_type: str, inter_threads: int, intra_threads: int
) -> Any:
    import ctranslate2

    try:
        return ctranslate2.Translator(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            inter_threads=inter_threads,
            intra_threads=intra_threads,
        )
    except (RuntimeError, ValueError) as exc:
        raise TranslationModelError(
            f"CTranslate2 cannot load {model_dir} on {device} ({compute_type}): {exc}. {CONVERT_HINT}"
        ) from exc


def _check_ct2_vocabulary(model_dir: Path, tokens: set[str], required: set[str]) -> None:
    """Fail when the copied tokenizer does not belong to the converted model.

    CTranslate2 maps token strings through its own vocabulary and silently turns unknown ones into
    <unk>, so a mismatched tokenizer would give garbage instead of an error. Language and special
    tokens must all be there; other gaps are only logged (tokenizer versions may differ slightly).
    """
    for name in ("shared_vocabulary.json", "source_vocabulary.json"):
        path = model_dir / name
        if path.is_file():
            break
    else:
        return  # older conversions embed the vocabulary in model.bin; nothing to compare
    try:
        vocabulary = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise TranslationModelError(f"cannot read {path}: {exc}") from exc
    missing = sorted(required - vocabulary)
    if missing:
        raise TranslationModelError(
            f"the tokenizer in {model_dir} does not match the converted model: tokens "
            f"{', '.join(missing[:5])} are not in {name}. Re-run the conversion so that both come "
            f"from the same checkpoint."
        )
    others = tokens - vocabulary
    if others:
        logger.warning(
            "%d tokenizer tokens are not in %s (e.g. %s); they will be read as <unk>",
            len(others),
            path,
            ", ".join(sorted(others)[:5]),
        )
