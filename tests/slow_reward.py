"""A deliberately slow Python reward, so a test can kill a training process mid-run."""

import time


def slow_length(prompts, completions):
    time.sleep(0.4)
    return [len(c) / 20 for c in completions]


def half_nan(prompts, completions):
    """NaN for every odd sample: exercises rewards.nonfinite."""
    return [float("nan") if i % 2 else 1.0 for i in range(len(completions))]
