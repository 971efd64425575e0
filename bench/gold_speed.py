"""The gold's scoring speed on demo-sized texts, eager against SDPA attention, arms interleaved.

The rater's encoder (the first 6 layers of Gemma-3-270M) uses eager attention because it was faster here;
this checks that on the machine at hand. Texts: the cached reference samples of `rewardlab gold eval`
(32 demo evaluation prompts x 8 samples of 16 new tokens).

    python bench/gold_speed.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    import torch

    from rewardlab.rewards.gold import DEFAULT_BACKBONE, DEFAULT_LAYERS, Encoder, reference_samples

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rows = reference_samples()
    prompts, completions = [r["prompt"] for r in rows], [r["completion"] for r in rows]
    encoders = {}
    for attn in ("eager", "sdpa"):
        enc = Encoder(DEFAULT_BACKBONE, DEFAULT_LAYERS)
        enc.body.config._attn_implementation = attn  # same weights, other attention kernel
        encoders[attn] = enc
    out = {k: enc(prompts, completions) for k, enc in encoders.items()}  # warm-up, and the two must agree
    assert torch.allclose(torch.from_numpy(out["eager"]), torch.from_numpy(out["sdpa"]), atol=1e-3)
    times: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(a.repeats):
        for k, enc in encoders.items():
            t = time.perf_counter()
            enc(prompts, completions)
            times[k].append(time.perf_counter() - t)
    print(f"{len(rows)} texts, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| attention | median s | texts/s |")
    print("| --- | --- | --- |")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.2f} | {len(rows) / statistics.median(v):.1f} |")
    print(f"eager / sdpa speed ratio: {statistics.median(times['sdpa']) / statistics.median(times['eager']):.2f}x")


if __name__ == "__main__":
    main()
