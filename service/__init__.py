"""pivot-reward: reward scoring for multilingual reasoning RL."""

__version__ = "0.1.0"
