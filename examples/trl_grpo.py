"""TRL GRPO with rewards from pivot-reward (tested: TRL 1.16.0).

    pip install ./client trl          # in the trainer's environment
    make serve                        # the service, in another terminal
    python examples/trl_grpo.py --url http://127.0.0.1:8000 --model Qwen/Qwen2.5-0.5B-Instruct

`--tiny` trains a tiny policy built here (random 2-layer Qwen2, word-level tokenizer; no model hub)
for 2 steps on CPU: a smoke test of the whole loop. The reward is `hybrid` (semantic similarity to
the English reference x answer agreement, with the language-fidelity gate); the dataset columns
`lang`, `reference` and `pivot_answer` reach the reward function as keyword arguments.
"""

import argparse
import json
from typing import Any

from pivot_reward_client.trl import make_reward_func

REFERENCE = "Janet sells 9 eggs at 2 dollars each, so she makes 18 dollars. The answer is 18."
ROWS = [
    {
        "prompt": "Janet verkauft jeden Tag 9 Eier für je 2 Dollar. Wie viel verdient sie?",
        "lang": "de",
        "reference": REFERENCE,
        "pivot_answer": "18",
    },
    {
        "prompt": "Janet vend 9 œufs par jour à 2 dollars. Combien gagne-t-elle ?",
        "lang": "fr",
        "reference": REFERENCE,
        "pivot_answer": "18",
    },
]
TINY_WORDS = (
    "janet verkauft vend jeden tag eier œufs für je dollar also sie verdient elle gagne die "
    "antwort lautet la réponse est wie viel combien par jour à 2 9 18 20 . , ? : -t-elle"
)


def tiny_policy() -> tuple[Any, Any]:
    """A random 2-layer Qwen2 and a word-level tokenizer, built locally."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    words = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", *dict.fromkeys(TINY_WORDS.split())]
    prompt_words = {w for row in ROWS for w in row["prompt"].lower().split()}
    words += sorted(prompt_words - set(words))
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        padding_side="left",
    )
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(words),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None, help="service URL(s); default PIVOT_REWARD_URL")
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--tiny", action="store_true", help="tiny local policy, 2 steps on CPU")
    parser.add_argument("--output-dir", default="grpo-pivot-reward")
    args = parser.parse_args(argv)

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    reward = make_reward_func(args.url, preset="hybrid")  # async; None = sample dropped
    tiny = {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 12,
        "use_cpu": True,
    }
    config = GRPOConfig(
        output_dir=args.output_dir,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        **(tiny if args.tiny else {"num_generations": 8, "max_completion_length": 512}),
    )
    model, tokenizer = tiny_policy() if args.tiny else (args.model, None)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_list(ROWS),
        processing_class=tokenizer,
    )
    trainer.train()
    for entry in trainer.state.log_history:
        if f"rewards/{reward.__name__}/mean" in entry:
            logged = {k: v for k, v in entry.items() if "pivot" in k or k == "step"}
            print("pivot-reward log:", json.dumps(logged))


if __name__ == "__main__":
    main()
