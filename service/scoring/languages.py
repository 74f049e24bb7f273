"""Language-code registry: FLORES-200 codes (NLLB-200) and ISO 639-1 aliases.

Every language the service accepts is an NLLB-200 language, named by its FLORES-200 code
(``deu_Latn``). Callers may also use ISO 639-1 codes (``de``) or simple BCP-47 tags
(``de-DE``, ``zh-TW``, ``zh-Hant``, ``sr-Cyrl``). The canonical form returned by
:func:`normalize_lang` is the ISO 639-1 code when the language has one, otherwise the FLORES code.

Mapping choices for macrolanguages / ambiguous ISO 639-1 codes (the FLORES code is the
variety NLLB was trained on, usually the standard written one):

* ``ar`` -> ``arb_Arab`` (Modern Standard Arabic; dialects like ``arz_Arab`` have no 639-1 code)
* ``fa`` -> ``pes_Arab`` (Western/Iranian Persian; Dari ``prs_Arab`` has no 639-1 code)
* ``ms`` -> ``zsm_Latn`` (Standard Malay)
* ``no`` / ``nb`` -> ``nob_Latn`` (Bokmål; canonical ISO code returned is ``nb``), ``nn`` -> ``nno_Latn``
* ``zh`` -> ``zho_Hans`` (Simplified); ``zh-TW``/``zh-HK``/``zh-MO``/``zh-Hant`` -> ``zho_Hant``
  (which has no ISO 639-1 code of its own, so :func:`normalize_lang` returns ``zho_Hant``)
* ``sw`` -> ``swh_Latn``, ``sq`` -> ``als_Latn``, ``lv`` -> ``lvs_Latn``, ``et`` -> ``est_Latn``,
  ``mn`` -> ``khk_Cyrl``, ``ps`` -> ``pbt_Arab``, ``qu`` -> ``quy_Latn``, ``om`` -> ``gaz_Latn``,
  ``ne`` -> ``npi_Deva``, ``or`` -> ``ory_Orya``, ``uz`` -> ``uzn_Latn``, ``az`` -> ``azj_Latn``,
  ``ku`` -> ``kmr_Latn`` (Kurmanji), ``mg`` -> ``plt_Latn``, ``yi`` -> ``ydd_Hebr``,
  ``ay`` -> ``ayr_Latn``, ``ff`` -> ``fuv_Latn``, ``kr`` -> ``knc_Latn``, ``ks`` -> ``kas_Arab``
* Deprecated ISO codes are accepted as aliases: ``iw`` (he), ``in`` (id), ``ji`` (yi),
  ``jw`` (jv), ``mo`` (ro); so are ISO 639-3 macrolanguage codes such as ``ara``, ``fas``,
  ``msa``, ``nor``, ``zho``, ``swa`` and ``fil`` (tl).

Region subtags are ignored except for Chinese (see above). A script subtag selects the FLORES
variant with that script (``ks-Deva`` -> ``kas_Deva``) and is an error when NLLB lacks it
(``sr-Latn``), rather than silently switching scripts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from service.errors import InvalidInputError

__all__ = [
    "FLORES200_CODES",
    "ISO639_1_TO_FLORES",
    "MGSM_LANGUAGES",
    "SUPPORTED_ISO639_1",
    "UnknownLanguageError",
    "normalize_lang",
    "to_flores",
]

# Copied from transformers.models.nllb.tokenization_nllb.FAIRSEQ_LANGUAGE_CODES (202 codes, same
# order) so that the service does not import transformers just to validate a language code.
# fmt: off
FLORES200_CODES: Final[tuple[str, ...]] = (
    "ace_Arab", "ace_Latn", "acm_Arab", "acq_Arab", "aeb_Arab", "afr_Latn", "ajp_Arab",
    "aka_Latn", "amh_Ethi", "apc_Arab", "arb_Arab", "ars_Arab", "ary_Arab", "arz_Arab",
    "asm_Beng", "ast_Latn", "awa_Deva", "ayr_Latn", "azb_Arab", "azj_Latn", "bak_Cyrl",
    "bam_Latn", "ban_Latn", "bel_Cyrl", "bem_Latn", "ben_Beng", "bho_Deva", "bjn_Arab",
    "bjn_Latn", "bod_Tibt", "bos_Latn", "bug_Latn", "bul_Cyrl", "cat_Latn", "ceb_Latn",
    "ces_Latn", "cjk_Latn", "ckb_Arab", "crh_Latn", "cym_Latn", "dan_Latn", "deu_Latn",
    "dik_Latn", "dyu_Latn", "dzo_Tibt", "ell_Grek", "eng_Latn", "epo_Latn", "est_Latn",
    "eus_Latn", "ewe_Latn", "fao_Latn", "pes_Arab", "fij_Latn", "fin_Latn", "fon_Latn",
    "fra_Latn", "fur_Latn", "fuv_Latn", "gla_Latn", "gle_Latn", "glg_Latn", "grn_Latn",
    "guj_Gujr", "hat_Latn", "hau_Latn", "heb_Hebr", "hin_Deva", "hne_Deva", "hrv_Latn",
    "hun_Latn", "hye_Armn", "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn", "ita_Latn",
    "jav_Latn", "jpn_Jpan", "kab_Latn", "kac_Latn", "kam_Latn", "kan_Knda", "kas_Arab",
    "kas_Deva", "kat_Geor", "knc_Arab", "knc_Latn", "kaz_Cyrl", "kbp_Latn", "kea_Latn",
    "khm_Khmr", "kik_Latn", "kin_Latn", "kir_Cyrl", "kmb_Latn", "kon_Latn", "kor_Hang",
    "kmr_Latn", "lao_Laoo", "lvs_Latn", "lij_Latn", "lim_Latn", "lin_Latn", "lit_Latn",
    "lmo_Latn", "ltg_Latn", "ltz_Latn", "lua_Latn", "lug_Latn", "luo_Latn", "lus_Latn",
    "mag_Deva", "mai_Deva", "mal_Mlym", "mar_Deva", "min_Latn", "mkd_Cyrl", "plt_Latn",
    "mlt_Latn", "mni_Beng", "khk_Cyrl", "mos_Latn", "mri_Latn", "zsm_Latn", "mya_Mymr",
    "nld_Latn", "nno_Latn", "nob_Latn", "npi_Deva", "nso_Latn", "nus_Latn", "nya_Latn",
    "oci_Latn", "gaz_Latn", "ory_Orya", "pag_Latn", "pan_Guru", "pap_Latn", "pol_Latn",
    "por_Latn", "prs_Arab", "pbt_Arab", "quy_Latn", "ron_Latn", "run_Latn", "rus_Cyrl",
    "sag_Latn", "san_Deva", "sat_Beng", "scn_Latn", "shn_Mymr", "sin_Sinh", "slk_Latn",
    "slv_Latn", "smo_Latn", "sna_Latn", "snd_Arab", "som_Latn", "sot_Latn", "spa_Latn",
    "als_Latn", "srd_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn", "swh_Latn",
    "szl_Latn", "tam_Taml", "tat_Cyrl", "tel_Telu", "tgk_Cyrl", "tgl_Latn", "tha_Thai",
    "tir_Ethi", "taq_Latn", "taq_Tfng", "tpi_Latn", "tsn_Latn", "tso_Latn", "tuk_Latn",
    "tum_Latn", "tur_Latn", "twi_Latn", "tzm_Tfng", "uig_Arab", "ukr_Cyrl", "umb_Latn",
    "urd_Arab", "uzn_Latn", "vec_Latn", "vie_Latn", "war_Latn", "wol_Latn", "xho_Latn",
    "ydd_Hebr", "yor_Latn", "yue_Hant", "zho_Hans", "zho_Hant", "zul_Latn",
)
# fmt: on

# Canonical ISO 639-1 code -> FLORES-200 code (see the module docstring for ambiguous ones).
# fmt: off
ISO639_1_TO_FLORES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "af": "afr_Latn", "ak": "aka_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng",
        "ay": "ayr_Latn", "az": "azj_Latn", "ba": "bak_Cyrl", "be": "bel_Cyrl", "bg": "bul_Cyrl",
        "bm": "bam_Latn", "bn": "ben_Beng", "bo": "bod_Tibt", "bs": "bos_Latn", "ca": "cat_Latn",
        "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn", "dz": "dzo_Tibt",
        "ee": "ewe_Latn", "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn", "es": "spa_Latn",
        "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab", "ff": "fuv_Latn", "fi": "fin_Latn",
        "fj": "fij_Latn", "fo": "fao_Latn", "fr": "fra_Latn", "ga": "gle_Latn", "gd": "gla_Latn",
        "gl": "glg_Latn", "gn": "grn_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "he": "heb_Hebr",
        "hi": "hin_Deva", "hr": "hrv_Latn", "ht": "hat_Latn", "hu": "hun_Latn", "hy": "hye_Armn",
        "id": "ind_Latn", "ig": "ibo_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
        "jv": "jav_Latn", "ka": "kat_Geor", "kg": "kon_Latn", "ki": "kik_Latn", "kk": "kaz_Cyrl",
        "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "kr": "knc_Latn", "ks": "kas_Arab",
        "ku": "kmr_Latn", "ky": "kir_Cyrl", "lb": "ltz_Latn", "lg": "lug_Latn", "li": "lim_Latn",
        "ln": "lin_Latn", "lo": "lao_Laoo", "lt": "lit_Latn", "lv": "lvs_Latn", "mg": "plt_Latn",
        "mi": "mri_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
        "ms": "zsm_Latn", "mt": "mlt_Latn", "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva",
        "nl": "nld_Latn", "nn": "nno_Latn", "ny": "nya_Latn", "oc": "oci_Latn", "om": "gaz_Latn",
        "or": "ory_Orya", "pa": "pan_Guru", "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn",
        "qu": "quy_Latn", "rn": "run_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "rw": "kin_Latn",
        "sa": "san_Deva", "sc": "srd_Latn", "sd": "snd_Arab", "sg": "sag_Latn", "si": "sin_Sinh",
        "sk": "slk_Latn", "sl": "slv_Latn", "sm": "smo_Latn", "sn": "sna_Latn", "so": "som_Latn",
        "sq": "als_Latn", "sr": "srp_Cyrl", "ss": "ssw_Latn", "st": "sot_Latn", "su": "sun_Latn",
        "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "tg": "tgk_Cyrl",
        "th": "tha_Thai", "ti": "tir_Ethi", "tk": "tuk_Latn", "tl": "tgl_Latn", "tn": "tsn_Latn",
        "tr": "tur_Latn", "ts": "tso_Latn", "tt": "tat_Cyrl", "tw": "twi_Latn", "ug": "uig_Arab",
        "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn", "wo": "wol_Latn",
        "xh": "xho_Latn", "yi": "ydd_Hebr", "yo": "yor_Latn", "zh": "zho_Hans", "zu": "zul_Latn",
    }
)
# fmt: on

# Alternative codes accepted on input; they normalise to the canonical ISO 639-1 code.
_ISO_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # deprecated ISO 639-1 codes, and Norwegian macrolanguage -> Bokmål
        "iw": "he",
        "in": "id",
        "ji": "yi",
        "jw": "jv",
        "mo": "ro",
        "no": "nb",
        # ISO 639-3 macrolanguage / ISO 639-2 codes that are not a FLORES prefix
        "ara": "ar",
        "aym": "ay",
        "aze": "az",
        "fas": "fa",
        "fil": "tl",
        "kau": "kr",
        "kur": "ku",
        "lav": "lv",
        "mlg": "mg",
        "mon": "mn",
        "msa": "ms",
        "nep": "ne",
        "nor": "nb",
        "ori": "or",
        "orm": "om",
        "pus": "ps",
        "que": "qu",
        "sqi": "sq",
        "swa": "sw",
        "uzb": "uz",
        "yid": "yi",
    }
)

MGSM_LANGUAGES: Final[tuple[str, ...]] = (
    "bn",
    "de",
    "en",
    "es",
    "fr",
    "ja",
    "ru",
    "sw",
    "te",
    "th",
    "zh",
)

SUPPORTED_ISO639_1: Final[tuple[str, ...]] = tuple(sorted(ISO639_1_TO_FLORES))

_FLORES_SET: Final[frozenset[str]] = frozenset(FLORES200_CODES)
_FLORES_BY_LOWER: Final[Mapping[str, str]] = MappingProxyType(
    {code.lower(): code for code in FLORES200_CODES}
)
_FLORES_TO_ISO: Final[Mapping[str, str]] = MappingProxyType(
    {flores: iso for iso, flores in ISO639_1_TO_FLORES.items()}
)
# ISO 639-3 prefix -> the FLORES code used when only the prefix is given ("kas" -> "kas_Arab").
_PREFIX_DEFAULT: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{
            prefix: next(c for c in FLORES200_CODES if c.startswith(prefix + "_"))
            for prefix in {c[:3] for c in FLORES200_CODES}
            if sum(c.startswith(prefix + "_") for c in FLORES200_CODES) == 1
        },
        **{flores[:3]: flores for flores in ISO639_1_TO_FLORES.values()},
    }
)
# Traditional-script Chinese regions, used when a zh tag has a region but no script.
_HANT_REGIONS: Final[frozenset[str]] = frozenset({"TW", "HK", "MO"})

_TAG_RE: Final[re.Pattern[str]] = re.compile(r"^([A-Za-z]{2,3})((?:[-_][A-Za-z0-9]{1,8})*)$")
_SCRIPT_RE: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z]{4}$")
_REGION_RE: Final[re.Pattern[str]] = re.compile(r"^(?:[A-Za-z]{2}|[0-9]{3})$")


class UnknownLanguageError(ValueError):
    """A language code that is not an NLLB-200 language (or is malformed)."""

    def __init__(
        self,
        code: object,
        reason: str = "unknown language code",
        supported: tuple[str, ...] | None = None,
    ) -> None:
        self.code: str = code if isinstance(code, str) else repr(code)
        # a short list for error messages, not the full registry
        self.supported: tuple[str, ...] = supported or _suggestions(self.code)
        super().__init__(
            f"{reason}: {self.code!r}; supported codes include {', '.join(self.supported)} "
            "(ISO 639-1, or any FLORES-200 code such as deu_Latn)"
        )


def _suggestions(code: str) -> tuple[str, ...]:
    """Close matches first (typo help), padded with the MGSM languages; at most 11 codes."""
    lowered = code.strip().lower()
    close = difflib.get_close_matches(lowered, SUPPORTED_ISO639_1, n=3, cutoff=0.5)
    merged = [*close, *(c for c in MGSM_LANGUAGES if c not in close)]
    return tuple(merged[: len(MGSM_LANGUAGES)])


def _resolve(code: str) -> str:
    """Map any accepted spelling to its FLORES-200 code, or raise UnknownLanguageError."""
    if not isinstance(code, str):
        raise UnknownLanguageError(code, "language code must be a string")
    text = code.strip()
    exact = _FLORES_BY_LOWER.get(text.replace("-", "_").lower())
    if exact is not None:
        return exact
    match = _TAG_RE.match(text)
    if match is None:
        raise UnknownLanguageError(code)
    primary = match.group(1).lower()
    subtags = [s for s in re.split(r"[-_]", match.group(2)) if s]

    primary = _ISO_ALIASES.get(primary, primary)
    lookup = ISO639_1_TO_FLORES if len(primary) == 2 else _PREFIX_DEFAULT
    flores = lookup.get(primary)
    if flores is None:
        variants = tuple(c for c in FLORES200_CODES if c.startswith(primary + "_"))
        if variants:
            raise UnknownLanguageError(code, "ambiguous language code", variants)
    if flores is None:
        raise UnknownLanguageError(code)

    script = next((s.title() for s in subtags if _SCRIPT_RE.match(s)), None)
    region = next((s.upper() for s in subtags if _REGION_RE.match(s)), None)
    if script is None and flores == "zho_Hans" and region in _HANT_REGIONS:
        script = "Hant"
    if script is not None:
        variant = f"{flores[:3]}_{script}"
        if variant not in _FLORES_SET:
            raise UnknownLanguageError(code, f"script {script} is not available for this language")
        flores = variant
    return flores


def to_flores(code: str) -> str:
    """FLORES-200 code for any accepted spelling (``de``, ``DE``, ``de-AT``, ``deu_Latn``)."""
    return _resolve(code)


def normalize_lang(code: str) -> str:
    """Canonical code: ISO 639-1 when the FLORES variant is that code's default, else FLORES.

    Case-insensitive; ``-`` and ``_`` are interchangeable. ``to_flores(normalize_lang(x))``
    always equals ``to_flores(x)``.
    """
    flores = _resolve(code)
    return _FLORES_TO_ISO.get(flores, flores)


def check_languages(codes: Sequence[str], locs: Sequence[str]) -> list[str]:
    """Canonical codes, or `InvalidInputError` naming the first unknown one (the message lists
    the supported codes)."""
    canonical = []
    for code, loc in zip(codes, locs, strict=True):
        try:
            canonical.append(normalize_lang(code))
        except UnknownLanguageError as exc:
            raise InvalidInputError(str(exc), loc) from None
    return canonical
