"""`rewardlab demo`: gold → best-of-n → RL against an exploitable judge → report → terminal summary.

Each phase is a call into the library; nothing here computes a measurement of its own. The phases are
cached where the library caches (bundled model, default gold, best-of-n samples), so a second run
reuses them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rewardlab.errors import RewardlabError

DEMO_CONFIG = Path(__file__).parent / "configs" / "demo.yaml"
# --quick: a smoke run of every phase (≈2 minutes once the model and gold are cached)
QUICK = ["train.steps=4", "train.eval_every=2", "train.checkpoint_every=2", "algo.prompts_per_step=2",
         "algo.samples_per_prompt=2", "sampling.max_new_tokens=8", "data.num_eval_prompts=4"]
BON_N = {"full": 16, "quick": 4}


def _phase(console, name: str) -> float:
    console.rule(f"[bold]{name}")
    return time.perf_counter()


def run_demo(out: Path, quick: bool, seed: int, console) -> Path:
    from rewardlab.config import load_config
    from rewardlab.measure.bon import BonConfig, BonSettings, run_bon
    from rewardlab.report import build_report
    from rewardlab.rewards.gold import ensure_default_gold
    from rewardlab.rl.loop import prepare, train
    from rewardlab.runs import RunDir

    cfg = load_config(DEMO_CONFIG, [*(QUICK if quick else []), f"train.seed={seed}"])
    prepare(cfg)
    run_dir = RunDir(out / f"rl-s{seed}")
    if run_dir.config_path.exists():
        raise RewardlabError(f"{run_dir.path} exists: remove it or pass another --out")

    t = _phase(console, "1/4 gold reward (tweet-sentiment classifier; trained once, then cached)")
    gold_dir = ensure_default_gold()
    console.print(f"gold: {gold_dir} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, "2/4 best-of-n from the reference policy")
    n = BON_N["quick" if quick else "full"]
    # Best-of-n watches the cheap gold only; the isolated judge (≈2×(1 + paraphrases) forward passes per
    # text) is watched in the RL run's evaluations, where it sees 16 texts instead of 16 × n.
    bon_rewards = cfg.rewards.model_copy(update={"gold": [g for g in cfg.rewards.gold if g.kind == "gold"]})
    bon_cfg = BonConfig(model=cfg.model, data=cfg.data, sampling=cfg.sampling, rewards=bon_rewards,
                        bon=BonSettings(n=n, seed=seed, out_dir=str(out), run_name=f"bon-n{n}-s{seed}"))
    bon_dir = run_bon(bon_cfg)
    console.print(f"best-of-{n}: {bon_dir.path} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, f"3/4 RL: {cfg.algo.name} + LoRA against {cfg.rewards.proxy.name}, {cfg.train.steps} steps")
    train(cfg, run_dir)
    console.print(f"run: {run_dir.path} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, "4/4 report")
    report = build_report([run_dir.path, bon_dir.path], out=out / "report", named_tokens=["yes", "no"],
                          n_boot=200 if quick else 1000)
    console.print(f"report: {report} ({time.perf_counter() - t:.0f} s)")
    summarize(run_dir, report, console)
    return report


def summarize(run, report: Path, console) -> None:
    """Proxy gain, gold at its peak and at the end, detector onsets, one prompt's completions over time."""
    metrics = [m for m in run.metrics() if any(k.startswith("eval/reward/") for k in m)]
    meta = run.meta()
    proxy, golds = meta["optimised"], meta["gold"]
    first, last = metrics[0], metrics[-1]
    lines = [f"proxy {proxy}: {first[f'eval/reward/{proxy}']:+.3f} → {last[f'eval/reward/{proxy}']:+.3f}"
             f" at sequence KL {last['eval/kl/seq_k1']:.2f} nats"]
    for g in golds:
        peak = max(metrics, key=lambda m: m[f"eval/reward/{g}"])
        lines.append(f"gold {g}: start {first[f'eval/reward/{g}']:+.3f}, peak {peak[f'eval/reward/{g}']:+.3f}"
                     f" at step {peak['step']}, end {last[f'eval/reward/{g}']:+.3f}")
    detections = json.loads((report.parent / "detectors.json").read_text())
    for label, d in detections.items():
        fired = {k: v for k, v in d["onsets"].items() if v is not None}
        lines.append(f"detector onsets ({label}): " + (", ".join(f"{k} @ step {v}" for k, v in fired.items()) or "none fired"))
    rows = run.samples()
    peak_step = max(metrics, key=lambda m: m[f"eval/reward/{golds[0]}"])["step"] if golds else last["step"]
    for step in sorted({first["step"], peak_step, last["step"]}):
        row = next(r for r in rows if r["step"] == step and r["prompt_id"] == 0)
        lines.append(f"step {step:>3} | {row['prompt']} ⟶ {row['completion'].strip()!r}")
    lines.append(f"report: {report}")
    console.rule("[bold]summary")
    for line in lines:
        console.print(line, markup=False, highlight=False)


def cmd_demo(args: argparse.Namespace) -> None:
    from rich.console import Console

    run_demo(Path(args.out), args.quick, args.seed, Console(stderr=True))


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="the main job: gold, best-of-n and RL against an exploitable judge, then a report")
    p.add_argument("--quick", action="store_true", help="a smoke run of every phase (about 2 minutes once cached)")
    p.add_argument("--out", default="runs/demo", help="where the runs and the report go")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
