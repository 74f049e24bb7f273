"""Sentence embeddings: the model wrapper, a bounded LRU cache, and the batched service on top."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from service.batching import BatchingConfig, BatchObserver, MicroBatcher
from service.calibration import Calibration
from service.errors import TextTooLongError

logger = logging.getLogger(__name__)

# Built-in name of the deterministic, model-free encoder used by fast tests and demos.
HASH_ENCODER_NAME = "test-hash-encoder"


def resolve_device(device: str) -> str:
    """`auto` -> `cuda` when torch sees a GPU, else `cpu`."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEncoder:
    """A sentence-transformers model folder, fp16 on CUDA, fp32 on CPU.

    Texts are encoded with the model's `query` prompt when it defines one (e5 expects `query: ` on
    both sides of a symmetric comparison) and L2-normalised, so a dot product is the cosine.
    """

    def __init__(
        self,
        model_dir: Path,
        name: str,
        *,
        device: str = "auto",
        threads: int = 0,
        precision: str = "auto",
        sub_batch: int = 16,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self.name = name
        self.device = resolve_device(device)
        self.model_dir = model_dir
        kwargs: dict[str, Any] = {}
        if self.device == "cuda":
            kwargs["model_kwargs"] = {"torch_dtype": torch.float16}
        self._model = SentenceTransformer(
            str(model_dir), device=self.device, local_files_only=True, **kwargs
        )
        self._model.eval()
        self.precision = "fp16" if self.device == "cuda" else "fp32"
        self._autocast_bf16 = False
        if precision in ("bf16", "int8") and self.device != "cpu":
            logger.warning("precision %s is for CPU; using fp16 on %s", precision, self.device)
        elif precision == "bf16":
            self._autocast_bf16, self.precision = True, "bf16"
        elif precision == "bf16-ffn":
            _feed_forward_to_bf16(self._model)
            self.precision = "bf16-ffn"
        elif precision == "int8":
            # Linear layers hold ~all FLOPs; dynamic int8 uses VNNI where the CPU has it.
            torch.ao.quantization.quantize_dynamic(
                self._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
            self.precision = "int8"
        self.max_seq_length = int(self._model.max_seq_length or 512)
        prompts = getattr(self._model, "prompts", None) or {}
        self.prompt = prompts.get("query", "")
        self.prompt_name = "query" if "query" in prompts else None
        # sentence-transformers 6 renamed the method; keep older versions working too.
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dimension() or 0)
        self.max_batch_size = 64
        self.sub_batch = sub_batch
        # The model's tokenizer is mutated (padding/truncation state) by every encode() on the model
        # thread, so counting tokens from another thread must use its own copy of the Rust tokenizer.
        from tokenizers import Tokenizer

        self._counter = Tokenizer.from_str(self._model.tokenizer.backend_tokenizer.to_str())
        self._counter.no_padding()
        self._counter.no_truncation()
        self._tokenizer_lock = threading.Lock()

    def warmup(self) -> None:
        self.predict_batch(["query warm-up", "Aufwärmen", "উষ্ণ"])

    def cost(self, item: str) -> int:
        return len(item)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model will see them (prompt and special tokens included)."""
        with self._tokenizer_lock:
            encoded = self._counter.encode_batch(
                [self.prompt + text for text in texts], add_special_tokens=True
            )
        return [len(encoding.ids) for encoding in encoded]

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        import torch

        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._autocast_bf16)
        with torch.inference_mode(), autocast:
            vectors = self._model.encode(
                items,
                prompt_name=self.prompt_name,
                # ST sorts by length and cuts sub-batches: on CPU, 16 texts per forward beat
                # one big padded batch (bench/: 38 vs 25 texts/s at 16 vs 128).
                batch_size=max(1, min(self.sub_batch, len(items))),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        return list(vectors)


def _feed_forward_to_bf16(model: Any) -> None:
    """bf16 weights and matmuls for the feed-forward linears only (2/3 of the FLOPs); attention,
    layer norms and accumulation stay fp32. Keeps MGSM scores within 0.004 of fp32 (bench/)."""
    import torch

    class Bf16Linear(torch.nn.Module):
        weight: torch.Tensor
        bias: torch.Tensor | None

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16))
            self.register_buffer(
                "bias", None if linear.bias is None else linear.bias.detach().clone()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.nn.functional.linear(x.to(torch.bfloat16), self.weight).float()
            return y + self.bias if self.bias is not None else y

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            is_ffn = "intermediate.dense" in full or (
                full.endswith("output.dense") and "attention" not in full
            )
            if isinstance(child, torch.nn.Linear) and is_ffn:
                setattr(module, child_name, Bf16Linear(child))


_WORD = re.compile(r"\w+", re.UNICODE)


class HashEncoder:
    """Deterministic model-free encoder: hashed word and character-trigram features.

    Similar strings get similar vectors, identical strings identical ones, and the result never
    depends on batch composition, which is what fast tests need. Not a semantic model.
    """

    def __init__(self, dimension: int = 256, max_seq_length: int = 512) -> None:
        self.name = HASH_ENCODER_NAME
        self.device = "cpu"
        self.dimension = dimension
        self.max_seq_length = max_seq_length
        self.max_batch_size = 64
        self.calls: list[int] = []  # batch sizes seen, for tests that prove batching

    def warmup(self) -> None:
        self.predict_batch(["warm-up"])

    def cost(self, item: str) -> int:
        return len(item)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) + 2 for text in texts]

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        lowered = text.lower()
        features = _WORD.findall(lowered) + [
            lowered[i : i + 3] for i in range(max(0, len(lowered) - 2))
        ]
        for feature in features or [""]:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimension
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        self.calls.append(len(items))
        return [self._vector(text) for text in items]


class EmbeddingCache:
    """LRU cache of embeddings, bounded in bytes (keys and vectors counted)."""

    _ENTRY_OVERHEAD = 200  # dict slot, ndarray header, str header: approximate but conservative

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes_used = 0
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _size(self, key: str, vector: np.ndarray) -> int:
        return len(key.encode("utf-8", "surrogatepass")) + vector.nbytes + self._ENTRY_OVERHEAD

    def get(self, key: str) -> np.ndarray | None:
        vector = self._entries.get(key)
        if vector is not None:
            self._entries.move_to_end(key)
        return vector

    def put(self, key: str, vector: np.ndarray) -> None:
        size = self._size(key, vector)
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes_used -= self._size(key, old)
        self._entries[key] = vector
        self.bytes_used += size
        while self.bytes_used > self.max_bytes:
            evicted_key, evicted = self._entries.popitem(last=False)
            self.bytes_used -= self._size(evicted_key, evicted)


class CacheObserver(Protocol):
    """Receives cache hit/miss counts (implemented by the metrics module)."""

    def cache_lookups(self, model: str, hits: int, misses: int) -> None: ...


class _NoCacheObserver:
    def cache_lookups(self, model: str, hits: int, misses: int) -> None:
        pass


@dataclass
class EmbeddedTexts:
    """Unit vectors for a request's texts, plus which texts were truncated by the model."""

    vectors: np.ndarray
    truncated: list[bool]


class EmbeddingService:
    """Embeds texts once: cache, then in-flight sharing, then the micro-batcher."""

    def __init__(
        self,
        encoder: SentenceTransformerEncoder | HashEncoder,
        calibration: Calibration,
        batching: BatchingConfig,
        cache_bytes: int,
        observer: BatchObserver | None = None,
        cache_observer: CacheObserver | None = None,
    ) -> None:
        self.encoder = encoder
        self.calibration = calibration
        self.batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(encoder, batching, observer)
        self.cache = EmbeddingCache(cache_bytes)
        self._cache_observer: CacheObserver = cache_observer or _NoCacheObserver()
        self._in_flight: dict[str, asyncio.Future[np.ndarray]] = {}

    @property
    def name(self) -> str:
        return self.encoder.name

    async def start(self) -> None:
        self.batcher.start()
        await self.batcher.run_sync(self.encoder.warmup)

    async def close(self) -> None:
        await self.batcher.close()

    async def embed(
        self, texts: Sequence[str], *, allow_truncation: bool, locs: Sequence[str]
    ) -> EmbeddedTexts:
        """Unit vectors for `texts` (duplicates embedded once).

        Texts longer than the model's token limit raise `TextTooLongError` naming `locs[i]` unless
        `allow_truncation`, in which case the model truncates them and they are flagged.
        """
        unique = list(dict.fromkeys(texts))
        loop = asyncio.get_running_loop()
        # Tokenising is cheap next to the model but not free: keep it off the event loop.
        token_counts = await loop.run_in_executor(None, self.encoder.count_tokens, unique)
        too_long = {
            text for text, count in zip(unique, token_counts) if count > self.encoder.max_seq_length
        }
        if too_long and not allow_truncation:
            index = next(i for i, text in enumerate(texts) if text in too_long)
            count = token_counts[unique.index(texts[index])]
            raise TextTooLongError(
                f"text has {count} tokens, over the model's limit of {self.encoder.max_seq_length}; "
                'shorten it or set "truncate": true',
                locs[index],
            )
        vectors = await self._vectors(unique)
        by_text = dict(zip(unique, vectors))
        matrix = (
            np.stack([by_text[text] for text in texts]) if texts else np.zeros((0, 0), np.float32)
        )
        return EmbeddedTexts(matrix, [text in too_long for text in texts])

    async def _vectors(self, unique: list[str]) -> list[np.ndarray]:
        found: dict[str, np.ndarray] = {}
        waiting: dict[str, asyncio.Future[np.ndarray]] = {}
        missing: list[str] = []
        for text in unique:
            cached = self.cache.get(text) if self.cache.max_bytes else None
            if cached is not None:
                found[text] = cached
            elif text in self._in_flight:
                waiting[text] = self._in_flight[text]
            else:
                missing.append(text)
        self._cache_observer.cache_lookups(self.name, len(found), len(unique) - len(found))
        if missing:
            loop = asyncio.get_running_loop()
            own = {text: loop.create_future() for text in missing}
            self._in_flight.update(own)
            try:
                results = await self.batcher.submit_many(missing)
            except BaseException as exc:
                for text, future in own.items():
                    self._in_flight.pop(text, None)
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                        future.exception()  # mark retrieved: there may be no other waiter
                    else:  # our client went away: waiters resubmit (see below)
                        future.cancel()
                raise
            for text, vector in zip(missing, results):
                self._in_flight.pop(text, None)
                own[text].set_result(vector)
                if self.cache.max_bytes:
                    self.cache.put(text, vector)
                found[text] = vector
        for text, future in waiting.items():
            try:
                found[text] = await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise  # this request itself was cancelled
                # The request that owned this text disconnected; embed it ourselves.
                found[text] = (await self._vectors([text]))[0]
        return [found[text] for text in unique]

    async def cosine_pairs(
        self,
        candidates: Sequence[str],
        references: Sequence[str],
        *,
        allow_truncation: bool,
        candidate_locs: Sequence[str],
        reference_locs: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """Raw cosines, calibrated scores and truncation flags for aligned candidate/reference pairs."""
        embedded = await self.embed(
            [*candidates, *references],
            allow_truncation=allow_truncation,
            locs=[*candidate_locs, *reference_locs],
        )
        n = len(candidates)
        left, right = embedded.vectors[:n], embedded.vectors[n:]
        cosines = np.clip(
            np.einsum("ij,ij->i", left.astype(np.float64), right.astype(np.float64)), -1.0, 1.0
        )
        truncated = [a or b for a, b in zip(embedded.truncated[:n], embedded.truncated[n:])]
        return cosines, self.calibration.score(cosines), truncated
