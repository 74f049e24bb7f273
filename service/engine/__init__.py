"""Model engines: the micro-batcher, encoders, translator, reward model and the embedding cache.

Synchronous model code runs on one thread per model; nothing here knows about HTTP."""
