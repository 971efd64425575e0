"""Benchmark: the contiguous LM-head input (rewardlab.models._contiguous_input) on the bundled model.

With `logits_to_keep`, transformers hands the LM head a sliced, non-contiguous view of the hidden states.
For a frozen head, torch's CPU matmul then broadcasts the (d, vocab) weight into a batched matmul, copying
it once per row. This times what that costs in rewardlab's two hot paths, generation (`sample`) and the
LM judge, with the hook and with it removed, interleaved, on the same loaded models.

    python bench/lm_head_contiguous.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rewardlab.config import RewardSpec, SamplingConfig
from rewardlab.data import load_prompt_source
from rewardlab.models import load_causal_lm
from rewardlab.rewards import build_reward
from rewardlab.rewards import judge as judge_module
from rewardlab.sampling import sample


def without_hook(model):
    """Context: the LM head's forward pre-hooks removed, then restored."""
    head = model.get_output_embeddings()

    class Ctx:
        def __enter__(self):
            self.saved = dict(head._forward_pre_hooks)
            head._forward_pre_hooks.clear()

        def __exit__(self, *exc):
            head._forward_pre_hooks.update(self.saved)

    return Ctx()


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    prompts = load_prompt_source("builtin:tweets")[:16]
    cfg = SamplingConfig(max_new_tokens=16)
    rows = []
    for dtype in ("bfloat16", "float32"):
        model, tok = load_causal_lm("smollm2-135m-instruct")
        model.eval().requires_grad_(False).to(getattr(torch, dtype))
        judge = build_reward(RewardSpec(name="j", kind="judge", args={"placement": "isolated", "dtype": dtype}))
        texts = sample(model, tok, prompts, cfg).completions

        def run_sample():
            torch.manual_seed(0)
            sample(model, tok, prompts, cfg)

        def run_judge():
            judge_module._CACHE.clear()
            judge([""] * len(texts), texts)

        for what, fn, m in (("sample 16 x 16 tokens", run_sample, model), ("isolated judge, 16 texts", run_judge, judge.model)):
            with_hook, no_hook = [], []
            for _ in range(a.repeats):  # interleaved: machine noise hits both arms alike
                with_hook += timed(fn, 1)
                with without_hook(m):
                    no_hook += timed(fn, 1)
            w, n = statistics.median(with_hook), statistics.median(no_hook)
            rows.append(f"| {dtype} | {what} | {n:.2f} s | {w:.2f} s | {n / w:.2f}x |")
    print("| dtype | work | head input as sliced | contiguous (rewardlab) | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
