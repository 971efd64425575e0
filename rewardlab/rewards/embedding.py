"""Embedding reward: weighted cosine similarity of the text's embedding to target texts or embeddings.

The "instrumental utility" fix of the yes-spammer excerpt: replace the evaluator by similarity to an
objective in embedding space. One target invites collapse onto that target; several weighted targets
(outcome and process) are harder to satisfy with one degenerate string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rewardlab.config import RewardSpec
from rewardlab.embed import DEFAULT_EMBEDDER
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS
from rewardlab.rewards.spec import KindArgs, parse_args, scored_texts


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str | None = None
    npy: str | None = None
    """A .npy of shape (D,) or (K, D): one embedding, or K whose similarities are averaged."""
    weight: float = 1.0

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.text is None) == (self.npy is None):
            raise ValueError("each target needs exactly one of text or npy")
        return self


class EmbeddingArgs(KindArgs):
    targets: list[Target] = Field(min_length=1)
    embedder: str = DEFAULT_EMBEDDER
    batch_size: int = Field(64, ge=1)


def _load_npy(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"target embedding file not found: {p}")
    e = np.load(p).astype(np.float32)
    if e.ndim not in (1, 2):
        raise ConfigError(f"{p}: target embeddings must have shape (D,) or (K, D), not {e.shape}")
    return e.reshape(-1, e.shape[-1])


class EmbeddingReward:
    def __init__(self, name: str, args: EmbeddingArgs):
        from rewardlab.embed import embed

        self.name, self.args = name, args
        # one (K_i, D) unit-norm block per target
        self.targets = [embed([t.text], args.embedder) if t.text is not None else _load_npy(t.npy) for t in args.targets]
        self.targets = [e / np.linalg.norm(e, axis=1, keepdims=True) for e in self.targets]
        dim = embed(["x"], args.embedder).shape[1]
        for t, e in zip(args.targets, self.targets):
            if e.shape[1] != dim:
                raise ConfigError(f"reward {name!r}: target {t.npy} has dimension {e.shape[1]}, embedder {args.embedder!r} {dim}")
        self.weights = np.array([t.weight for t in args.targets])

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        from rewardlab.embed import embed

        e = embed(scored_texts(prompts, completions, self.args.text), self.args.embedder, self.args.batch_size)
        sims = np.stack([(e @ t.T).mean(axis=1) for t in self.targets], axis=1)  # (N, targets)
        return (sims @ self.weights / self.weights.sum()).tolist()


def _validate(spec: RewardSpec) -> EmbeddingArgs:
    args = parse_args(spec, EmbeddingArgs)
    if sum(t.weight for t in args.targets) == 0:
        raise ConfigError(f"reward {spec.name!r}: target weights sum to 0")
    for t in args.targets:
        if t.npy is not None:
            _load_npy(t.npy)
    return args


KINDS["embedding"] = (lambda spec: EmbeddingReward(spec.name, _validate(spec)), _validate)
