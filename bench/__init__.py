"""Benchmark harness of pivot-reward: `python -m bench.run` (see bench/README.md)."""
