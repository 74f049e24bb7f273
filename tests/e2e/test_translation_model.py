"""NllbTranslator (CTranslate2) against transformers' own NLLB implementation, on a tiny local model.

The model is a few-second build (tests/fixtures/tiny_nllb.py): NLLB architecture and tokenizer,
toy weights. Its translations are nonsense; what matters is that the service's CTranslate2 path
produces exactly transformers' greedy `generate` output for the same inputs, token for token.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from models.convert_nllb import ConversionError, convert, main, tokenizer_files
from service.engine.translator import (
    NllbTranslator,
    TranslationModelError,
    UnsupportedLanguageError,
)
from tests.fixtures.tiny_nllb import TinyNllb, build_tiny_nllb

pytestmark = pytest.mark.e2e

# (source code as a client might send it, FLORES tag transformers needs, text); mixed languages
# and both code styles, some sentences from the training templates and some not.
ITEMS: list[tuple[str, str, str]] = [
    ("de", "deu_Latn", "Janets Enten legen 16 Eier pro Tag."),
    ("en", "eng_Latn", "The dog runs fast in the park."),
    ("fra_Latn", "fra_Latn", "Combien de pommes a-t-elle ?"),
    ("ru", "rus_Cyrl", "Сколько яиц продаёт фермер?"),
    ("sw", "swh_Latn", "Mkulima ana bata 12 sokoni."),
    ("eng_Latn", "eng_Latn", "Tom buys 5 apples every day."),
    ("es", "spa_Latn", "Mi hermana lee 30 libros. ¿Cuántos quedan?"),
    ("de", "deu_Latn", "Der Bäcker backt 7 Kuchen am Montag."),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyNllb:
    return build_tiny_nllb(tmp_path_factory.mktemp("tiny_nllb"))


@pytest.fixture(scope="module")
def translator(tiny: TinyNllb) -> NllbTranslator:
    # float32: the converted weights are float32, so both implementations compute the same thing.
    return NllbTranslator(tiny.ct2_dir, device="cpu", compute_type="float32", intra_threads=1)


@pytest.fixture(scope="module")
def reference(tiny: TinyNllb) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, M2M100ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(str(tiny.hf_dir))
    model = M2M100ForConditionalGeneration.from_pretrained(str(tiny.hf_dir)).eval()
    return tokenizer, model


def hf_encode(reference: tuple[Any, Any], text: str, flores: str) -> list[int]:
    """transformers' NLLB encoding of a source text, truncated to the model limit."""
    tokenizer, _ = reference
    tokenizer.src_lang = flores
    encoded = tokenizer(text, truncation=True, max_length=tokenizer.model_max_length)
    return list(encoded["input_ids"])


def hf_greedy(
    reference: tuple[Any, Any],
    text: str,
    flores: str,
    target: str,
    max_length: int,
    num_beams: int = 1,
) -> tuple[list[int], str]:
    """transformers' translation (greedy unless `num_beams` > 1): generated ids and text."""
    import torch

    tokenizer, model = reference
    input_ids = torch.tensor([hf_encode(reference, text, flores)])
    target_id = tokenizer.convert_tokens_to_ids(target)
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            forced_bos_token_id=target_id,
            num_beams=num_beams,
            # CTranslate2 stops a beam search once `beam_size` hypotheses have finished.
            early_stopping=True if num_beams > 1 else None,
            do_sample=False,
            max_new_tokens=max_length + 1,  # + the forced language tag
        )[0].tolist()
    assert output[:2] == [model.config.decoder_start_token_id, target_id]
    generated = output[2:]
    if tokenizer.eos_token_id in generated:
        generated = generated[: generated.index(tokenizer.eos_token_id)]
    return generated, tokenizer.decode(generated, skip_special_tokens=True)


# --- tokenization --------------------------------------------------------------------------------


def test_source_tokens_follow_transformers_nllb_convention(
    translator: NllbTranslator, reference: tuple[Any, Any]
) -> None:
    tokenizer, _ = reference
    sources, truncated = translator.prepare_sources(
        [text for _, _, text in ITEMS], [code for code, _, _ in ITEMS]
    )
    assert truncated == [False] * len(ITEMS)
    for (_, flores, text), source in zip(ITEMS, sources, strict=True):
        assert tokenizer.convert_tokens_to_ids(source) == hf_encode(reference, text, flores)
        # NLLB-200 (transformers default, legacy_behaviour=False): [lang] tokens </s>.
        assert source[0] == flores and source[-1] == "</s>"


def test_legacy_behaviour_tokenizers_get_the_suffix_convention(
    tiny: TinyNllb, tmp_path: Path
) -> None:
    # Older NLLB tokenizer configs set legacy_behaviour: tokens </s> [lang]; follow transformers.
    from transformers import AutoTokenizer

    legacy_dir = tmp_path / "legacy"
    shutil.copytree(tiny.ct2_dir, legacy_dir)
    config_path = legacy_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["legacy_behaviour"] = True
    config_path.write_text(json.dumps(config))
    legacy = NllbTranslator(legacy_dir, device="cpu", compute_type="float32")
    assert legacy.legacy_behaviour
    tokenizer = AutoTokenizer.from_pretrained(str(legacy_dir))
    tokenizer.src_lang = "deu_Latn"
    [source], _ = legacy.prepare_sources(["Der Bauer hat 3 Enten."], ["de"])
    assert (
        tokenizer.convert_tokens_to_ids(source) == tokenizer("Der Bauer hat 3 Enten.")["input_ids"]
    )
    assert source[-2:] == ["</s>", "deu_Latn"]


def test_count_tokens_matches_the_tokenizer(
    translator: NllbTranslator, reference: tuple[Any, Any]
) -> None:
    texts = [text for _, _, text in ITEMS] + ["", "   "]
    expected = [len(hf_encode(reference, text, "eng_Latn")) for text in texts]
    assert translator.count_tokens(texts) == expected


# --- equality with transformers ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["en", "deu_Latn", "fr"])
def test_greedy_equals_transformers_generate_on_a_mixed_batch(
    translator: NllbTranslator, reference: tuple[Any, Any], target: str
) -> None:
    target_flores = {"en": "eng_Latn", "fr": "fra_Latn"}.get(target, target)
    outputs = translator.translate_batch(
        [text for _, _, text in ITEMS], [code for code, _, _ in ITEMS], target, max_length=40
    )
    assert len(outputs) == len(ITEMS)
    lengths = set()
    for (_, flores, text), output in zip(ITEMS, outputs, strict=True):
        ids, expected_text = hf_greedy(reference, text, flores, target_flores, max_length=40)
        assert list(output.token_ids) == ids, text
        assert output.text == expected_text
        assert output.output_tokens == len(ids)
        assert output.input_tokens == len(hf_encode(reference, text, flores))
        assert output.truncated is False
        lengths.add(len(ids))
    # The toy model must stop on </s> at different lengths, or the test would prove little.
    assert len(lengths) > 1 and max(lengths) < 40


def test_results_do_not_depend_on_batch_composition_or_order(translator: NllbTranslator) -> None:
    texts = [text for _, _, text in ITEMS]
    codes = [code for code, _, _ in ITEMS]
    batched = translator.translate_batch(texts, codes, "en")
    alone = [
        translator.translate_batch([t], [c], "en")[0] for t, c in zip(texts, codes, strict=True)
    ]
    reversed_batch = translator.translate_batch(texts[::-1], codes[::-1], "en")[::-1]
    assert batched == alone == reversed_batch


def test_max_length_bounds_the_output_like_max_new_tokens(
    translator: NllbTranslator, reference: tuple[Any, Any]
) -> None:
    outputs = translator.translate_batch(
        [text for _, _, text in ITEMS], [code for code, _, _ in ITEMS], "en", max_length=3
    )
    for (_, flores, text), output in zip(ITEMS, outputs, strict=True):
        ids, _ = hf_greedy(reference, text, flores, "eng_Latn", max_length=3)
        assert list(output.token_ids) == ids
        assert output.output_tokens <= 3


def test_max_length_beyond_the_position_table_is_clamped(translator: NllbTranslator) -> None:
    # The tiny model has 128 positions; CTranslate2 would raise past them.
    outputs = translator.translate_batch(["Tom"], ["en"], "en", max_length=10_000)
    assert outputs[0].output_tokens <= translator.max_positions - 1


def test_over_long_input_is_truncated_and_reported(
    translator: NllbTranslator, reference: tuple[Any, Any]
) -> None:
    long_text = " ".join(["Der Bauer verkauft 12 Eier auf dem Markt."] * 30)
    texts = ["Tom has 3 ducks.", long_text]
    outputs = translator.translate_batch(texts, ["en", "de"], "en", max_length=20)
    assert [o.truncated for o in outputs] == [False, True]
    assert outputs[1].input_tokens == translator.max_input_tokens == 128
    assert translator.count_tokens([long_text]) == [128]
    ids, text = hf_greedy(reference, long_text, "deu_Latn", "eng_Latn", max_length=20)
    assert list(outputs[1].token_ids) == ids and outputs[1].text == text


def test_beam_search_equals_transformers_beam_search(
    translator: NllbTranslator, reference: tuple[Any, Any]
) -> None:
    texts = [text for _, _, text in ITEMS]
    codes = [code for code, _, _ in ITEMS]
    beam = translator.translate_batch(texts, codes, "en", beam_size=4, max_length=40)
    greedy = translator.translate_batch(texts, codes, "en", beam_size=1, max_length=40)
    assert len(beam) == len(ITEMS)
    for (_, flores, text), output in zip(ITEMS, beam, strict=True):
        ids, expected_text = hf_greedy(reference, text, flores, "eng_Latn", 40, num_beams=4)
        assert list(output.token_ids) == ids, text
        assert output.text == expected_text
    # The beam search really searched: some results differ from greedy decoding.
    assert any(b.token_ids != g.token_ids for b, g in zip(beam, greedy, strict=True))


def test_request_errors(translator: NllbTranslator) -> None:
    from service.scoring.languages import UnknownLanguageError

    assert translator.translate_batch([], [], "en") == []
    with pytest.raises(ValueError, match="source languages"):
        translator.translate_batch(["a", "b"], ["en"], "de")
    with pytest.raises(UnknownLanguageError):
        translator.translate_batch(["a"], ["xx-not-a-language"], "de")
    with pytest.raises(ValueError, match="beam_size"):
        translator.translate_batch(["a"], ["en"], "de", beam_size=0)
    assert isinstance(translator.languages, frozenset) and len(translator.languages) == 202


def test_language_missing_from_the_model_is_a_clear_error(translator: NllbTranslator) -> None:
    # A FLORES-200 code NLLB-200 does not have must fail before reaching CTranslate2.
    translator_languages = translator.languages
    try:
        translator.languages = translator_languages - {"swh_Latn"}
        with pytest.raises(UnsupportedLanguageError, match="swh_Latn"):
            translator.translate_batch(["Habari"], ["swh_Latn"], "en")
    finally:
        translator.languages = translator_languages


def test_warmup_and_default_compute_type(tiny: TinyNllb) -> None:
    quantized = NllbTranslator(tiny.ct2_dir, device="auto", intra_threads=1)
    assert quantized.compute_type == ("int8" if quantized.device == "cpu" else "float16")
    quantized.warmup()
    [output] = quantized.translate_batch(["Tom has 3 ducks."], ["en"], "de")
    assert output.output_tokens == len(output.token_ids)


# --- load errors ---------------------------------------------------------------------------------


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TranslationModelError, match=r"does not exist.*convert_nllb"):
        NllbTranslator(tmp_path / "nope", device="cpu")


def test_hugging_face_folder_is_not_a_ct2_model(tiny: TinyNllb) -> None:
    with pytest.raises(TranslationModelError, match=r"Hugging Face checkpoint.*no model\.bin"):
        NllbTranslator(tiny.hf_dir, device="cpu")


def test_empty_folder_is_not_a_ct2_model(tmp_path: Path) -> None:
    with pytest.raises(TranslationModelError, match=r"not a CTranslate2 model.*model\.bin"):
        NllbTranslator(tmp_path, device="cpu")


def test_ct2_folder_without_tokenizer_is_a_clear_error(tiny: TinyNllb, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.bin", "config.json", "shared_vocabulary.json"):
        shutil.copy(tiny.ct2_dir / name, bare / name)
    with pytest.raises(TranslationModelError, match=r"no tokenizer.*tokenizer\.json"):
        NllbTranslator(bare, device="cpu")


def test_tokenizer_of_another_model_is_a_clear_error(tiny: TinyNllb, tmp_path: Path) -> None:
    mismatched = tmp_path / "mismatched"
    shutil.copytree(tiny.ct2_dir, mismatched)
    vocabulary_path = mismatched / "shared_vocabulary.json"
    vocabulary = json.loads(vocabulary_path.read_text())
    vocabulary_path.write_text(json.dumps([t for t in vocabulary if t != "zul_Latn"]))
    with pytest.raises(
        TranslationModelError, match=r"does not match the converted model.*zul_Latn"
    ):
        NllbTranslator(mismatched, device="cpu")


def test_unsupported_compute_type_is_a_clear_error(tiny: TinyNllb) -> None:
    with pytest.raises(TranslationModelError, match=r"compute type 'float8'.*supported here"):
        NllbTranslator(tiny.ct2_dir, device="cpu", compute_type="float8")


# --- conversion script ---------------------------------------------------------------------------


def test_conversion_copies_only_existing_tokenizer_files(tiny: TinyNllb) -> None:
    # transformers 5 writes no special_tokens_map.json; the hub's NLLB folders have one.
    assert tokenizer_files(str(tiny.hf_dir)) == [
        "tokenizer.json",
        "tokenizer_config.json",
        "sentencepiece.bpe.model",
    ]
    assert {p.name for p in tiny.ct2_dir.iterdir()} >= {"model.bin", "tokenizer.json"}


def test_conversion_rejects_a_folder_without_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="tokenizer"):
        convert(str(tmp_path), tmp_path / "out", quantization="int8")
    with pytest.raises(ConversionError, match="does not exist"):
        convert(str(tmp_path / "missing"), tmp_path / "out", quantization="int8")


def test_conversion_cli_int8_end_to_end(tiny: TinyNllb, tmp_path: Path) -> None:
    out = tmp_path / "int8"
    assert main([str(tiny.hf_dir), str(out), "--quantization", "int8"]) == 0
    translator = NllbTranslator(out, device="cpu", compute_type="int8", intra_threads=1)
    assert len(translator.translate_batch(["Tom has 3 ducks."], ["en"], "fr")) == 1
