"""Verifiable reward: exact answers to generated modular-arithmetic tasks (used by the CoT experiments).

The answer is recomputed from the prompt itself, so any prompt set in this format works without a lookup
table. The completion's answer is the last "Answer: N", or else its last integer.
"""

from __future__ import annotations

import random
import re
from typing import Sequence

from pydantic import BaseModel, ConfigDict

from rewardlab.config import RewardSpec
from rewardlab.errors import RewardError
from rewardlab.rewards import KINDS, NamedReward
from rewardlab.rewards.spec import parse_args

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
TASK = re.compile(r"Compute \((\d+) ([-+*]) (\d+)\) mod (\d+)\.")
ANSWER = re.compile(r"Answer:\s*(-?\d+)", re.IGNORECASE)
INTEGER = re.compile(r"-?\d+")


def arithmetic_tasks(n: int, modulus: int = 7, seed: int = 0, max_operand: int = 100) -> list[tuple[str, int]]:
    """n (prompt, answer) pairs like ("Compute (17 + 8) mod 5.", 0); answers lie in [0, modulus)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b, op = rng.randrange(max_operand), rng.randrange(max_operand), rng.choice(list(OPS))
        out.append((f"Compute ({a} {op} {b}) mod {modulus}.", OPS[op](a, b) % modulus))
    return out


def task_answer(prompt: str) -> int:
    m = TASK.search(prompt)
    if m is None:
        raise RewardError(f"checker: prompt {prompt!r} holds no task of the form 'Compute (A op B) mod M.'")
    a, op, b, mod = m.groups()
    return OPS[op](int(a), int(b)) % int(mod)


def parse_answer(completion: str) -> int | None:
    tagged = ANSWER.findall(completion)
    if tagged:
        return int(tagged[-1])
    ints = INTEGER.findall(completion)
    return int(ints[-1]) if ints else None


def checker_reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """1.0 for the exact answer, else 0.0."""
    return [float(parse_answer(c) == task_answer(p)) for p, c in zip(prompts, completions)]


class CheckerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # no settings: the prompt says it all


def _validate(spec: RewardSpec) -> None:
    parse_args(spec, CheckerArgs)


def _build(spec: RewardSpec) -> NamedReward:
    _validate(spec)
    return NamedReward(spec.name, checker_reward)


KINDS["checker"] = (_build, _validate)
