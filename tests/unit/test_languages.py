"""Unit tests for the language-code registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.scoring.languages import (
    FLORES200_CODES,
    ISO639_1_TO_FLORES,
    MGSM_LANGUAGES,
    SUPPORTED_ISO639_1,
    UnknownLanguageError,
    normalize_lang,
    to_flores,
)


def test_registry_shape() -> None:
    assert len(FLORES200_CODES) == 202  # NLLB-200's FAIRSEQ_LANGUAGE_CODES
    assert len(set(FLORES200_CODES)) == len(FLORES200_CODES)
    assert set(ISO639_1_TO_FLORES.values()) <= set(FLORES200_CODES)
    assert len(set(ISO639_1_TO_FLORES.values())) == len(ISO639_1_TO_FLORES)
    assert tuple(sorted(SUPPORTED_ISO639_1)) == SUPPORTED_ISO639_1
    assert MGSM_LANGUAGES == ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
    assert set(MGSM_LANGUAGES) <= set(SUPPORTED_ISO639_1)


@pytest.mark.parametrize(
    ("code", "iso", "flores"),
    [
        ("de", "de", "deu_Latn"),
        ("DE", "de", "deu_Latn"),
        (" de ", "de", "deu_Latn"),
        ("deu_Latn", "de", "deu_Latn"),
        ("DEU_LATN", "de", "deu_Latn"),
        ("deu-Latn", "de", "deu_Latn"),
        ("de-AT", "de", "deu_Latn"),
        ("en_US", "en", "eng_Latn"),
        ("eng", "en", "eng_Latn"),
        ("pt-BR", "pt", "por_Latn"),
        ("bn", "bn", "ben_Beng"),
        ("sw", "sw", "swh_Latn"),
        ("te", "te", "tel_Telu"),
        ("th", "th", "tha_Thai"),
        ("ja", "ja", "jpn_Jpan"),
        ("ru", "ru", "rus_Cyrl"),
    ],
)
def test_spellings(code: str, iso: str, flores: str) -> None:
    assert normalize_lang(code) == iso
    assert to_flores(code) == flores


@pytest.mark.parametrize(
    ("code", "flores"),
    [
        ("zh", "zho_Hans"),
        ("zh-CN", "zho_Hans"),
        ("zh-Hans", "zho_Hans"),
        ("zh-TW", "zho_Hant"),
        ("zh-HK", "zho_Hant"),
        ("zh-Hant", "zho_Hant"),
        ("no", "nob_Latn"),
        ("nb", "nob_Latn"),
        ("nn", "nno_Latn"),
        ("ms", "zsm_Latn"),
        ("fa", "pes_Arab"),
        ("ar", "arb_Arab"),
        ("ara", "arb_Arab"),
        ("et", "est_Latn"),
        ("lv", "lvs_Latn"),
        ("sq", "als_Latn"),
        ("mn", "khk_Cyrl"),
        ("ks", "kas_Arab"),
        ("ks-Deva", "kas_Deva"),
        ("iw", "heb_Hebr"),
        ("fil", "tgl_Latn"),
    ],
)
def test_ambiguous_mappings(code: str, flores: str) -> None:
    assert to_flores(code) == flores


def test_canonical_form_prefers_iso_only_for_the_default_variant() -> None:
    assert normalize_lang("zho_Hans") == "zh"
    assert normalize_lang("zh-TW") == "zho_Hant"  # no ISO 639-1 code of its own
    assert normalize_lang("no") == "nb"
    assert normalize_lang("ace_Latn") == "ace_Latn"
    assert normalize_lang("arz_Arab") == "arz_Arab"  # Egyptian Arabic is not "ar"


@pytest.mark.parametrize(
    "code", ["", "   ", "xx", "english", "de--", "sr-Latn", "deu_Cyrl", "ace", "d", "1234"]
)
def test_unknown_codes(code: str) -> None:
    with pytest.raises(UnknownLanguageError) as info:
        normalize_lang(code)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == code
    assert 0 < len(err.supported) <= 11
    assert repr(code) in str(err)


def test_error_suggestions() -> None:
    with pytest.raises(UnknownLanguageError) as info:
        to_flores("ace")
    assert info.value.supported == ("ace_Arab", "ace_Latn")
    with pytest.raises(UnknownLanguageError) as info:
        to_flores("dee")
    assert "de" in info.value.supported


def test_non_string_code() -> None:
    with pytest.raises(UnknownLanguageError):
        normalize_lang(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("flores", FLORES200_CODES)
def test_every_flores_code_is_accepted(flores: str) -> None:
    assert to_flores(flores) == flores
    assert to_flores(flores.lower()) == flores
    assert to_flores(normalize_lang(flores)) == flores


@pytest.mark.parametrize("iso", SUPPORTED_ISO639_1)
def test_every_iso_code_is_canonical(iso: str) -> None:
    assert normalize_lang(iso) == iso
    assert normalize_lang(iso.upper()) == iso


@given(st.text(max_size=12))
def test_normalize_is_idempotent_or_raises(code: str) -> None:
    try:
        canonical = normalize_lang(code)
    except UnknownLanguageError:
        return
    assert normalize_lang(canonical) == canonical
    assert to_flores(canonical) == to_flores(code)
