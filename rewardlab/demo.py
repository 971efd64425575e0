"""`rewardlab demo`: gold → best-of-n by the judge and by a learned proxy → RL against the judge → report
→ terminal summary.

Each phase is a call into the library; nothing here computes a measurement of its own. The phases are
cached where the library caches (bundled model, default gold, best-of-n samples), so a second run
reuses them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

from rewardlab.errors import RewardlabError

DEMO_CONFIG = Path(__file__).parent / "configs" / "demo.yaml"
# --quick: a smoke run of every phase (under a minute once the model and gold are cached)
QUICK = ["train.steps=4", "train.eval_every=2", "train.checkpoint_every=2", "algo.prompts_per_step=2",
         "algo.samples_per_prompt=2", "sampling.max_new_tokens=8", "data.num_eval_prompts=4", "train.eval_samples_per_prompt=1"]
BON_N = {"full": 16, "quick": 4}
# The learned proxy of Gao et al.'s setting: an RM trained on a few hundred gold labels of reference samples
# for training prompts (disjoint from the best-of-n prompts); 20% of the rows are held out to report it.
LABEL_PROMPTS = {"full": 64, "quick": 8}
LABEL_SAMPLES_PER_PROMPT = {"full": 4, "quick": 2}


def _phase(console, name: str) -> float:
    console.rule(f"[bold]{name}")
    return time.perf_counter()


def run_demo(out: Path, quick: bool, seed: int, console, overrides: Sequence[str] = ()) -> Path:
    from rewardlab.config import RewardSpec, load_config
    from rewardlab.data import load_prompts
    from rewardlab.measure.bon import BonConfig, BonSettings, run_bon
    from rewardlab.report import build_report
    from rewardlab.rewards.gold import ensure_default_gold
    from rewardlab.rewards.learned import TrainArgs, label_samples, train_rm
    from rewardlab.rl.loop import prepare, train
    from rewardlab.runs import RunDir

    size = "quick" if quick else "full"
    cfg = load_config(DEMO_CONFIG, [*(QUICK if quick else []), *overrides, f"train.seed={seed}"])
    prepare(cfg)
    run_dir = RunDir(out / f"rl-s{seed}")
    # Re-running the demo continues where it stopped: every phase reuses what it finds on disk.
    started = run_dir.config_path.exists()
    if started and run_dir.config_path.read_text() != cfg.to_yaml():
        raise RewardlabError(f"{run_dir.path} holds a run with another config: remove it or pass another --out")
    judge, (gold, *_) = cfg.rewards.proxy, cfg.rewards.gold

    t = _phase(console, "1/5 gold reward (a rater of tweet continuations on Gemma-3-270M; trained once, then cached)")
    gold_dir = ensure_default_gold()
    console.print(f"gold: {gold_dir} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, f"2/5 best-of-n from the reference policy, selected by the judge {judge.name!r}")
    n = BON_N[size]
    # Best-of-n watches the cheap gold only; the isolated judge (≈2×(1 + paraphrases) forward passes per
    # text) is watched in the RL run's evaluations, where it sees one sample per prompt instead of n.
    bon = BonSettings(n=n, seed=seed, out_dir=str(out), run_name=f"bon-{judge.name}-n{n}-s{seed}")
    bon_judge = run_bon(BonConfig(model=cfg.model, data=cfg.data, sampling=cfg.sampling,
                                  rewards=cfg.rewards.model_copy(update={"gold": [gold]}), bon=bon))
    console.print(f"best-of-{n}: {bon_judge.path} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, "3/5 a learned proxy from a few hundred gold labels, and best-of-n selected by it")
    train_prompts, _ = load_prompts(cfg.data)
    labels, rm_dir = out / f"labels-s{seed}.jsonl", out / f"rm-s{seed}"
    if (rm_dir / "meta.json").is_file():
        rm_report = json.loads((rm_dir / "meta.json").read_text())["report"]
    else:
        label_samples(labels, cfg.model.name, train_prompts[: LABEL_PROMPTS[size]], LABEL_SAMPLES_PER_PROMPT[size],
                      cfg.sampling, gold, seed=seed, batch_size=64, source=cfg.data.prompts, device=cfg.model.device)
        rm_report = train_rm(labels, TrainArgs(seed=seed), rm_dir)
    console.print(f"learned proxy: {rm_report['train_rows']} gold labels, held-out correlation with gold "
                  f"{rm_report['heldout_pearson']:.2f} on {rm_report['heldout_rows']} rows")
    learned = RewardSpec(name="learned", kind="learned", args={"path": str(rm_dir)})
    bon_learned = run_bon(BonConfig(
        model=cfg.model, data=cfg.data, sampling=cfg.sampling,
        rewards=cfg.rewards.model_copy(update={"proxy": learned, "gold": [gold, judge]}),
        bon=bon.model_copy(update={"run_name": f"bon-learned-n{n}-s{seed}", "samples_from": str(bon_judge.path)})))
    console.print(f"best-of-{n} by the learned proxy: {bon_learned.path} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, f"4/5 RL: {cfg.algo.name} + LoRA against {judge.name}, {cfg.train.steps} steps")
    if started and run_dir.meta().get("status") == "finished":
        console.print("finished before: reusing it")
    else:
        train(cfg, run_dir, resume=started)
    console.print(f"run: {run_dir.path} ({time.perf_counter() - t:.0f} s)")

    t = _phase(console, "5/5 report")
    report = build_report([run_dir.path, bon_judge.path, bon_learned.path], out=out / "report",
                          named_tokens=["yes", "no"], n_boot=200 if quick else 1000)
    console.print(f"report: {report} ({time.perf_counter() - t:.0f} s)")
    summarize(run_dir, [bon_judge, bon_learned], report, console)
    return report


def summarize(run, bons, report: Path, console) -> None:
    """Best-of-n by each proxy; RL: proxy gain, gold at its peak and at the end, detector onsets, the
    answer words' stages by step, the words the policy leans on at the end, and one prompt's completions
    over time."""
    from rewardlab.measure.detectors import top_tokens

    lines = []
    for b in bons:
        meta, c = b.meta(), b.curves()
        means = {k: v.mean(0) for k, v in c.values.items()}
        parts = []
        for name, m in means.items():
            peak = int(m.argmax())
            parts.append(f"{name} {m[0]:+.3f} → {m[-1]:+.3f}" + ("" if name == meta["optimised"] else f" (peak n={c.n[peak]})"))
        lines.append(f"best-of-n by {meta['optimised']}, n=1 → {c.n[-1]}: " + ", ".join(parts))
    metrics = [m for m in run.metrics() if any(k.startswith("eval/reward/") for k in m)]
    meta = run.meta()
    proxy, golds = meta["optimised"], meta["gold"]
    first, last = metrics[0], metrics[-1]
    lines.append(f"RL proxy {proxy}: {first[f'eval/reward/{proxy}']:+.3f} → {last[f'eval/reward/{proxy}']:+.3f}"
                 f" at sequence KL {last['eval/kl/seq_k1']:.2f} nats")
    for g in golds:
        peak = max(metrics, key=lambda m: m[f"eval/reward/{g}"])
        lines.append(f"RL gold {g}: start {first[f'eval/reward/{g}']:+.3f}, peak {peak[f'eval/reward/{g}']:+.3f}"
                     f" at step {peak['step']}, end {last[f'eval/reward/{g}']:+.3f}")
    detections = json.loads((report.parent / "detectors.json").read_text())
    for label, d in detections.items():
        fired = {k: v for k, v in d["onsets"].items() if v is not None}
        lines.append(f"detector onsets ({label}): " + (", ".join(f"{k} @ step {v}" for k, v in fired.items()) or "none fired"))
    for label, words in json.loads((report.parent / "answer_words.json").read_text()).items():
        for w in words:
            trace = ", ".join(f"{step}: {a:.0%}/{b:.0%}/{c:.0%}" for step, a, b, c in zip(w["steps"], w["starts"], w["repeated"], w["spam"]))
            lines.append(f"{w['word']!r} by step ({label}; starts / twice+ / mostly {w['word']!r}): {trace}")
    rows = run.samples()
    for step in (first["step"], last["step"]):
        words = top_tokens([r["completion"] for r in rows if r["step"] == step], 5)
        lines.append(f"most frequent words at step {step}: " + ", ".join(f"{w!r} {share:.0%}" for w, share in words))
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

    run_demo(Path(args.out), args.quick, args.seed, Console(stderr=True), args.overrides)


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="the main job: gold, best-of-n and RL against an exploitable judge, then a report")
    p.add_argument("--quick", action="store_true", help="a smoke run of every phase (under a minute once cached)")
    p.add_argument("--out", default="runs/demo", help="where the runs and the report go")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="changes to the demo config (rewardlab/configs/demo.yaml), e.g. train.steps=80")
    p.set_defaults(func=cmd_demo)
