"""Combinators: a weighted sum of rewards, and ensembles of rewards (mean, worst case, or
uncertainty-penalised mean - lam * variance across members). Members are nested reward specs of any kind.

Ensembles are the standard hedge against overoptimising one proxy: the worst case and the variance
penalty both pay less where the members disagree, which is where a policy has found a member's blind spot.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rewardlab.config import RewardSpec
from rewardlab.rewards import KINDS, Reward, build_reward, checked_scores, validate_reward
from rewardlab.rewards.spec import parse_args


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weight: float = 1.0
    reward: RewardSpec


class SumArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    terms: list[Term] = Field(min_length=1)


class EnsembleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    members: list[RewardSpec] = Field(min_length=2)
    aggregate: Literal["mean", "min", "mean_minus_var"] = "mean"
    lam: float = Field(1.0, ge=0.0)
    """Variance penalty of mean_minus_var."""


def aggregate(scores: np.ndarray, how: str, lam: float = 1.0) -> np.ndarray:
    """(members, N) scores -> (N,). Variance is the population variance across members."""
    if how == "mean":
        return scores.mean(0)
    if how == "min":
        return scores.min(0)
    return scores.mean(0) - lam * scores.var(0)


class Combined:
    def __init__(self, name: str, members: list[Reward], combine):
        self.name, self.members, self.combine = name, members, combine

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        scores = np.array([checked_scores(m, prompts, completions) for m in self.members], dtype=np.float64)
        return self.combine(scores).tolist()


def _validate_sum(spec: RewardSpec) -> SumArgs:
    args = parse_args(spec, SumArgs)
    for t in args.terms:
        validate_reward(t.reward)
    return args


def _validate_ensemble(spec: RewardSpec) -> EnsembleArgs:
    args = parse_args(spec, EnsembleArgs)
    for m in args.members:
        validate_reward(m)
    return args


def _build_sum(spec: RewardSpec) -> Combined:
    args = _validate_sum(spec)
    w = np.array([t.weight for t in args.terms])
    return Combined(spec.name, [build_reward(t.reward) for t in args.terms], lambda s: w @ s)


def _build_ensemble(spec: RewardSpec) -> Combined:
    args = _validate_ensemble(spec)
    return Combined(spec.name, [build_reward(m) for m in args.members], lambda s: aggregate(s, args.aggregate, args.lam))


KINDS["sum"] = (_build_sum, _validate_sum)
KINDS["ensemble"] = (_build_ensemble, _validate_ensemble)
