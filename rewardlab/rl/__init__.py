"""The RL engine: `train(cfg)` in loop.py, pure math helpers beside it."""
