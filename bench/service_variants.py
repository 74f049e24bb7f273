"""Run the service with an experimental change patched in, to measure a proposed change first.

    python -m bench.service_variants subbatch16 serve      # same CLI as `python -m service.cli`

Variants (comma-separated):

* ``subbatchN``: the embedding model call splits its batch into length-sorted sub-batches of at
  most N texts (sentence-transformers' own `batch_size`), instead of one forward pass padded to the
  longest of up to PIVOT_MAX_BATCH_SIZE texts. With MGSM's 30-180 token texts, one padded forward
  of 64 texts spends about half of its FLOPs on padding.

* ``tokfix``: `count_tokens` (run on the event loop's default executor) uses its own copy of the
  tokenizer. The shipped code shares one Hugging Face tokenizer between `count_tokens` and the model
  thread's `encode`; a call with `padding=False` switches padding off on the shared Rust backend
  while `encode` is tokenising a padded batch, which then fails ("expected sequence of length 84
  at dim 1 (got 81)") and the whole batch answers 500.
* ``switchNus``: `sys.setswitchinterval(N / 1e6)`: the model thread waits at most N us for the
  GIL after each torch op while Python threads (answer extraction) are busy; CPython's default is
  5000 us.

Environment-only changes (e.g. ``OMP_WAIT_POLICY=PASSIVE``) need no patch: the harness passes them
with ``--service-env``.
"""

from __future__ import annotations

import re
import sys
from typing import Any


def _patch_subbatch(size: int) -> None:
    import numpy as np

    from service.engine.encoder import SentenceTransformerEncoder

    def predict_batch(self: SentenceTransformerEncoder, items: list[str]) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(
                items,
                prompt_name=self.prompt_name,
                batch_size=max(1, min(size, len(items))),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return list(np.asarray(vectors, dtype=np.float32))

    SentenceTransformerEncoder.predict_batch = predict_batch  # type: ignore[method-assign]


def _patch_tokfix() -> None:
    import copy

    from service.engine.encoder import SentenceTransformerEncoder

    def count_tokens(self: SentenceTransformerEncoder, texts: Any) -> list[int]:
        with self._tokenizer_lock:
            tokenizer = getattr(self, "_count_tokenizer", None)
            if tokenizer is None:
                tokenizer = copy.deepcopy(self._model.tokenizer)
                self._count_tokenizer = tokenizer  # type: ignore[attr-defined]
            encoded = tokenizer([self.prompt + text for text in texts], add_special_tokens=True)
        return [len(ids) for ids in encoded["input_ids"]]

    SentenceTransformerEncoder.count_tokens = count_tokens  # type: ignore[method-assign]


def apply(variants: str) -> list[str]:
    applied: list[str] = []
    for name in filter(None, (v.strip() for v in variants.split(","))):
        match = re.fullmatch(r"subbatch(\d+)", name)
        switch = re.fullmatch(r"switch(\d+)us", name)
        if name == "tokfix":
            _patch_tokfix()
        elif match:
            _patch_subbatch(int(match.group(1)))
        elif switch:
            sys.setswitchinterval(int(switch.group(1)) / 1e6)
        elif name != "none":
            raise SystemExit(f"unknown variant {name!r}")
        applied.append(name)
    return applied


def main(argv: list[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit(__doc__)
    apply(argv[0])
    from service.cli import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
