"""`pivot-reward bench`: replay GRPO-shaped workloads against a running instance (no data files)."""
