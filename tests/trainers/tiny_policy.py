"""A tiny causal LM and tokenizer built locally (no model hub), for real trainer runs on CPU."""

from pathlib import Path
from typing import Any

# German and English words, digits and the German answer phrase, so sampled completions are
# word salad the gate can read and answer extraction sometimes finds "Antwort ... 18".
WORDS = [
    "die",
    "antwort",
    "lautet",
    "ist",
    "sie",
    "verkauft",
    "eier",
    "für",
    "je",
    "dollar",
    "also",
    "jeden",
    "tag",
    "und",
    "the",
    "answer",
    "is",
    "she",
    "sells",
    "eggs",
    "each",
    "day",
    "so",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "16",
    "18",
    "20",
    ".",
    ",",
    ":",
    "wie",
    "viele",
    "verdient",
    "janet",
]
SPECIAL = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")


def tiny_tokenizer() -> Any:
    """A word-level fast tokenizer over WORDS, built with `tokenizers`."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate((*SPECIAL, *dict.fromkeys(WORDS)))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )
    tokenizer.padding_side = "left"
    return tokenizer


def tiny_qwen2(tokenizer: Any, seed: int = 0) -> Any:
    """A 2-layer, 32-wide Qwen2 causal LM with random weights."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def save_tiny_tokenizer(folder: Path) -> Path:
    """The tokenizer saved as a folder (what trainers load by path)."""
    tiny_tokenizer().save_pretrained(folder)
    return folder
