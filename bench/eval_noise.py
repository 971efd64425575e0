"""How much does the gold move between two evaluations of a policy that has not changed?

Evaluates the reference policy twice on the demo's evaluation prompts with different evaluation seeds,
`--max-per-prompt` samples per prompt each time (the demo's sampling: 16 new tokens, temperature 1),
scores every sample with the default gold, and reports for m = 1, 2, 4, ... samples per prompt the
observed difference of the two means and its predicted standard deviation. Both evaluations use the
same prompts, so prompt effects cancel: sd(diff) = sqrt(2 · σ²_within / (prompts · m)), σ²_within being
the variance of the gold across samples of one prompt (pooled over prompts and both evaluations).

    python bench/eval_noise.py                 # 32 prompts x 16 samples, seeds 1 and 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    from rewardlab.config import RewardSpec, SamplingConfig
    from rewardlab.data import load_prompt_source
    from rewardlab.models import load_causal_lm
    from rewardlab.rewards import build_reward
    from rewardlab.sampling import sample_batched

    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-per-prompt", type=int, default=16)
    ap.add_argument("--seeds", type=int, nargs=2, default=[1, 2])
    a = ap.parse_args()

    prompts = load_prompt_source("builtin:tweets")[-a.prompts :]
    gold = build_reward(RewardSpec(name="gold", kind="gold"))
    model, tok = load_causal_lm("smollm2-135m-instruct")
    scores, t_sample, t_score = [], 0.0, 0.0
    for seed in a.seeds:
        torch.manual_seed(seed)
        jobs = [p for p in prompts for _ in range(a.max_per_prompt)]
        t = time.perf_counter()
        drawn = sample_batched(model.eval(), tok, jobs, SamplingConfig(max_new_tokens=16), batch_size=64, progress=False)
        t_sample += time.perf_counter() - t
        t = time.perf_counter()
        s = np.asarray(gold(jobs, [c for c, _ in drawn]))
        t_score += time.perf_counter() - t
        scores.append(s.reshape(a.prompts, a.max_per_prompt))  # (prompts, samples)
    n_texts = 2 * a.prompts * a.max_per_prompt
    within = np.mean([x.var(axis=1, ddof=1).mean() for x in scores])
    print(f"gold per-sample sd within a prompt: {np.sqrt(within):.3f}; between-prompt sd of the means: "
          f"{scores[0].mean(1).std():.3f}; sampling {t_sample / n_texts * 1000:.0f} ms/sample, gold {t_score / n_texts * 1000:.1f} ms/text")
    print("| samples per prompt | eval samples | observed diff (seed 1 - seed 2) | predicted sd of the diff |")
    print("| --- | --- | --- | --- |")
    m = 1
    while m <= a.max_per_prompt:
        diff = scores[0][:, :m].mean() - scores[1][:, :m].mean()
        print(f"| {m} | {a.prompts * m} | {diff:+.3f} | {np.sqrt(2 * within / (a.prompts * m)):.3f} |")
        m *= 2


if __name__ == "__main__":
    main()
