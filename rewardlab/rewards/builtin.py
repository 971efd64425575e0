"""Small Python rewards for examples, smoke runs and tests."""

from __future__ import annotations


def length_reward(prompts: list[str], completions: list[str]) -> list[float]:
    """Number of words in the completion / 10: a trivially hackable proxy (length drift)."""
    return [len(c.split()) / 10 for c in completions]


def word_count(word: str):
    """Factory: reward = occurrences of `word` (case-insensitive, whole words) in the completion."""
    w = word.lower()

    def reward(prompts: list[str], completions: list[str]) -> list[float]:
        return [float(sum(t.strip(".,!?;:\"'").lower() == w for t in c.split())) for c in completions]

    return reward
