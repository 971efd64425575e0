"""Combinators against numpy, and the small pure-Python kinds (checker)."""

from __future__ import annotations

import numpy as np
import pytest

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError, RewardError
from rewardlab.rewards import build_reward, validate_reward
from rewardlab.rewards.checker import arithmetic_tasks, parse_answer, task_answer
from rewardlab.rewards.combine import aggregate

COMPLETIONS = ["yes yes the end", "the cat sat on the mat", "", "no yes no", "the the the yes"]
MEMBERS = [
    {"name": "len", "path": "rewardlab.rewards.builtin:length_reward"},
    {"name": "yes", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "yes"}},
    {"name": "the", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "the"}},
]


def member_scores() -> np.ndarray:
    return np.array([build_reward(RewardSpec(**m))([""] * 5, COMPLETIONS) for m in MEMBERS])


@pytest.mark.parametrize("how", ["mean", "min", "mean_minus_var"])
def test_ensemble_matches_numpy(how):
    s = member_scores()
    expected = {"mean": s.mean(0), "min": s.min(0), "mean_minus_var": s.mean(0) - 0.5 * np.var(s, axis=0, ddof=0)}[how]
    r = build_reward(RewardSpec(name="ens", kind="ensemble", args={"members": MEMBERS, "aggregate": how, "lam": 0.5}))
    np.testing.assert_allclose(r([""] * 5, COMPLETIONS), expected, rtol=1e-12)
    np.testing.assert_allclose(aggregate(s, how, 0.5), expected, rtol=1e-12)


def test_weighted_sum_matches_numpy():
    w = np.array([2.0, -1.0, 0.5])
    terms = [{"weight": float(wi), "reward": m} for wi, m in zip(w, MEMBERS)]
    r = build_reward(RewardSpec(name="sum", kind="sum", args={"terms": terms}))
    np.testing.assert_allclose(r([""] * 5, COMPLETIONS), w @ member_scores(), rtol=1e-12)


def test_combinator_bad_input():
    with pytest.raises(ConfigError, match="members"):
        validate_reward(RewardSpec(name="e", kind="ensemble", args={"members": MEMBERS[:1]}))
    with pytest.raises(ConfigError, match="aggregate"):
        validate_reward(RewardSpec(name="e", kind="ensemble", args={"members": MEMBERS, "aggregate": "median"}))
    with pytest.raises(ConfigError, match="cannot import"):  # a nested spec is validated too
        validate_reward(RewardSpec(name="s", kind="sum", args={"terms": [{"reward": {"name": "x", "path": "nope.mod:f"}}]}))
    with pytest.raises(ConfigError, match="unknown key"):
        validate_reward(RewardSpec(name="s", kind="sum", args={"terms": [{"reward": MEMBERS[0]}], "weights": [1]}))


def test_arithmetic_tasks_and_checker():
    tasks = arithmetic_tasks(50, modulus=5, seed=3)
    assert tasks == arithmetic_tasks(50, modulus=5, seed=3) and tasks != arithmetic_tasks(50, modulus=5, seed=4)
    for prompt, answer in tasks:
        assert 0 <= answer < 5 and task_answer(prompt) == answer
    assert task_answer("Compute (17 + 8) mod 5.") == 0 and task_answer("Compute (3 - 9) mod 7.") == 1
    r = build_reward(RewardSpec(name="check", kind="checker"))
    prompts = ["Compute (17 + 8) mod 5."] * 5 + ["Q: Compute (6 * 7) mod 10. Think step by step."]
    completions = ["Answer: 0", "25 mod 5 is 0", "Answer: 0. Or maybe 3", "the answer is 3", "no idea", "6*7=42, so Answer: 2"]
    assert r(prompts, completions) == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert parse_answer("x = -3") == -3 and parse_answer("none") is None
    with pytest.raises(RewardError, match="no task"):
        r(["What is 2 + 2?"], ["4"])
    with pytest.raises(ConfigError, match="unknown key"):
        validate_reward(RewardSpec(name="check", kind="checker", args={"modulus": 5}))
