"""Rewards: every kind is a callable `(prompts, completions) -> list[float]` with a `name`.

`build_reward(spec)` turns a config `RewardSpec` into such a callable; `validate_reward(spec)` checks
what can be checked before any model loads (imports, files, arguments). Kinds register themselves in
`KINDS`; a run optimises one reward (the proxy) and only logs the others (gold).
"""

from __future__ import annotations

import importlib
import math
from typing import Callable, Protocol, Sequence

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError, RewardError


class Reward(Protocol):
    name: str

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]: ...


class NamedReward:
    """Gives a plain function the `name` the protocol asks for."""

    def __init__(self, name: str, fn: Callable[..., Sequence[float]]):
        self.name, self.fn = name, fn

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return [float(x) for x in self.fn(list(prompts), list(completions))]

    def __repr__(self) -> str:
        return f"NamedReward({self.name!r}, {self.fn!r})"


def import_object(path: str, what: str = "reward"):
    """`package.module:attr` → the object, with an error that says which part failed."""
    if not path or ":" not in path:
        raise ConfigError(f"{what} path {path!r} must look like package.module:function")
    mod_name, attr = path.split(":", 1)
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's to see
        raise ConfigError(f"{what} path {path!r}: cannot import {mod_name!r}: {e}") from None
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{what} path {path!r}: module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{what} path {path!r} is not callable")
    return obj


def _python_reward(spec: RewardSpec) -> Reward:
    fn = import_object(spec.path or "")
    if spec.args:
        fn = fn(**spec.args)  # a factory: `path` returns the reward when called with `args`
    return NamedReward(spec.name, fn)


def _python_validate(spec: RewardSpec) -> None:
    import_object(spec.path or "")


# kind → (builder, validator); other modules add their kinds here.
KINDS: dict[str, tuple[Callable[[RewardSpec], Reward], Callable[[RewardSpec], None]]] = {
    "python": (_python_reward, _python_validate),
}


def _kind(spec: RewardSpec):
    _load_kinds()
    if spec.kind not in KINDS:
        raise ConfigError(f"reward {spec.name!r}: unknown kind {spec.kind!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[spec.kind]


def _load_kinds() -> None:
    """Import the modules that register further kinds (cheap: they import heavy libraries lazily)."""
    for mod in ("rewardlab.rewards.combine", "rewardlab.rewards.judge", "rewardlab.rewards.learned", "rewardlab.rewards.gold", "rewardlab.rewards.sentiment_minilm",
                "rewardlab.rewards.embedding", "rewardlab.rewards.checker"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def validate_reward(spec: RewardSpec) -> None:
    _kind(spec)[1](spec)


def build_reward(spec: RewardSpec) -> Reward:
    return _kind(spec)[0](spec)


def checked_scores(reward: Reward, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """Call a reward and check it returned one number per completion; non-finite values pass through
    (the caller decides, by config, whether they are an error or dropped)."""
    scores = reward(prompts, completions)
    if len(scores) != len(completions):
        raise RewardError(f"reward {reward.name!r} returned {len(scores)} scores for {len(completions)} completions")
    return [float(s) for s in scores]


def nonfinite_error(reward_name: str, scores: Sequence[float], prompts: Sequence[str], completions: Sequence[str]) -> RewardError | None:
    """The error for the first NaN/inf score, or None."""
    for i, s in enumerate(scores):
        if not math.isfinite(s):
            return RewardError(
                f"reward {reward_name!r} returned {s} for sample {i} "
                f"(prompt {prompts[i]!r}, completion {completions[i]!r}); "
                "set rewards.nonfinite=drop to drop such samples and count them instead"
            )
    return None
