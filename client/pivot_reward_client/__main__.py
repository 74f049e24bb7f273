"""`python -m pivot_reward_client path ADAPTER`: the file path of an adapter, for trainers that
load reward functions from a file (verl's `custom_reward_function.path`, OpenRLHF's
`--reward.remote_url`)."""

import argparse
from pathlib import Path

ADAPTERS = ("openrlhf", "slime", "trl", "verl")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pivot_reward_client")
    commands = parser.add_subparsers(dest="command", required=True)
    path = commands.add_parser("path", help="print an adapter's file path")
    path.add_argument("adapter", choices=ADAPTERS)
    args = parser.parse_args(argv)
    print(Path(__file__).resolve().with_name(f"{args.adapter}.py"))


if __name__ == "__main__":
    main()
