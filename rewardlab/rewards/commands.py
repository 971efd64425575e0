"""Reward commands: `rewardlab label`, `rm train`, `gold train`, `gold eval`, `score`.

label       sample completions and score them with the gold -> labelled JSONL (+ Parquet), settings beside it
rm train    train a learned reward model on labelled samples; prints held-out loss and correlation with gold
gold train  train the rater gold; gold eval: report cards (held-out tweets AUC, hack zoo vs reference samples)
score       re-score a run's saved samples offline with any reward (a big gold can run later, elsewhere)
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path


from rewardlab.config import load_reward_spec
from rewardlab.errors import ConfigError


def _build(spec):
    from rewardlab.rewards import build_reward, validate_reward

    validate_reward(spec)
    return build_reward(spec)


def _table(rows: list[dict]) -> str:
    cols = list(rows[0])
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    width = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(fmt(r[c]).ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)


# ---- label ------------------------------------------------------------------------------------------
def cmd_label(a: argparse.Namespace) -> None:
    from rewardlab.config import RewardSpec, SamplingConfig
    from rewardlab.data import load_prompt_source
    from rewardlab.rewards.learned import label_samples

    gold_spec = load_reward_spec(a.gold) if a.gold else RewardSpec(name="gold", kind="gold")
    sampling = SamplingConfig(max_new_tokens=a.max_new_tokens, temperature=a.temperature, top_k=a.top_k)
    prompts = load_prompt_source(a.prompts)[: a.n_prompts]
    meta = label_samples(a.out, a.model, prompts, a.samples_per_prompt, sampling, gold_spec, seed=a.seed,
                         chat_template=a.chat_template, batch_size=a.batch_size, parquet=a.parquet,
                         source=a.prompts)
    print(f"{meta['rows']} labelled samples -> {a.out} (settings: {Path(a.out).with_suffix('.meta.json')}); "
          f"gold {gold_spec.name!r} mean {meta['gold_mean']:.4f}")


# ---- rm train ---------------------------------------------------------------------------------------
def cmd_rm_train(a: argparse.Namespace) -> None:
    from pydantic import ValidationError

    from rewardlab.config import parse_overrides
    from rewardlab.rewards.learned import TrainArgs, train_rm

    settings = dict(parse_overrides(a.settings))
    try:
        base = TrainArgs.model_validate(settings)
    except ValidationError as e:
        raise ConfigError("rm train: " + "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None
    splits = [base.split] if "split" in settings or base.splits == 1 else range(base.splits)
    reports = []
    for k in splits:
        out = Path(a.out) / f"split{k}" if base.splits > 1 else Path(a.out)
        report = train_rm(a.data, base.model_copy(update={"split": k}), out)
        reports.append({"model": str(out), **{key: v for key, v in report.items() if key != "rows"}})
    print(_table(reports))


# ---- gold -------------------------------------------------------------------------------------------
def cmd_gold_train(a: argparse.Namespace) -> None:
    from rewardlab.rewards.gold import DEFAULT_LAYERS, DEFAULT_N, default_gold_dir, train_gold

    out = Path(a.out) if a.out else default_gold_dir()
    meta = train_gold(out, n=a.n or DEFAULT_N, seed=a.seed, layers=a.layers or DEFAULT_LAYERS)
    print(f"gold -> {out}  ({meta['train_rows']} train / {meta['heldout_rows']} held-out rows)")
    print(_table([{"gold": out.name, **meta["report"]}]))


def cmd_gold_eval(a: argparse.Namespace) -> None:
    """The report card of the gold, of `sentiment_minilm` beside it, and of any --reward."""
    from rewardlab.config import RewardSpec
    from rewardlab.data import load_prompt_source
    from rewardlab.rewards.gold import reference_samples, report_card
    from rewardlab.rewards.zoo import hack_zoo
    from rewardlab.runs import atomic_write_text, read_jsonl

    gold_args = {"path": a.gold_dir} if a.gold_dir else {}
    specs = [RewardSpec(name="gold", kind="gold", args=gold_args), RewardSpec(name="sentiment_minilm", kind="sentiment_minilm")]
    specs += [load_reward_spec(r) for r in a.reward]
    rewards = [_build(s) for s in specs]
    if a.reference:
        reference = [r for r in read_jsonl(Path(a.reference)) if r.get("step", 0) == 0]
        if not reference:
            raise ConfigError(f"{a.reference}: no rows with prompt and completion (at step 0, for a run's samples.jsonl)")
    else:
        reference = reference_samples()
    zoo = hack_zoo(sorted({r["prompt"] for r in reference}), per_family=a.per_family, seed=a.seed)
    cards = [report_card(r, reference, zoo) for r in rewards]
    print(f"{len(zoo)} hack-zoo texts in {len({z['family'] for z in zoo})} families; {len(reference)} reference samples; "
          "cells: share of the family scored below the reference samples' median")
    head = [{"family": "AUC pos vs neg tweets", **{c["reward"]: c["auc_pos_neg"] for c in cards}},
            {"family": "reference median", **{c["reward"]: c["reference_median"] for c in cards}}]
    fams = [{"family": f, **{c["reward"]: c["families"][f]["below_ref_median"] for c in cards}} for f in cards[0]["families"]]
    print(_table(head + fams))
    if a.json:
        atomic_write_text(Path(a.json), json.dumps(cards, indent=2) + "\n")
        print(f"report cards -> {a.json}")


# ---- score ------------------------------------------------------------------------------------------
def cmd_score(a: argparse.Namespace) -> None:
    from rewardlab.runs import RunDir, atomic_write_text

    run = RunDir(a.run_dir)
    rows = run.samples()
    if not rows:
        raise ConfigError(f"{run.samples_path} holds no samples to score")
    spec = load_reward_spec(a.reward)
    taken = next((r for r in rows if spec.name in r.get("rewards", {})), None)
    if taken is not None and not a.force:
        raise ConfigError(f"{run.samples_path} already has a reward named {spec.name!r}; rename it or pass --force")
    reward = _build(spec)
    scores = reward([r["prompt"] for r in rows], [r["completion"] for r in rows])
    by_step = defaultdict(list)
    for r, s in zip(rows, scores):
        r.setdefault("rewards", {})[spec.name] = float(s) if math.isfinite(s) else None
        if math.isfinite(s):
            by_step[r["step"]].append(float(s))
    atomic_write_text(run.samples_path, "".join(json.dumps(r) + "\n" for r in rows))
    print(_table([{"step": k, f"mean {spec.name}": sum(v) / len(v), "n": len(v)} for k, v in sorted(by_step.items())]))


def add_commands(sub) -> None:
    p = sub.add_parser("label", help="sample completions and label them with the gold -> JSONL (+ Parquet)")
    p.add_argument("--out", required=True, help="labelled JSONL to write (settings go to <out>.meta.json)")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--prompts", default="builtin:tweets", help="builtin:<name> or a .jsonl/.txt prompt file")
    p.add_argument("--n-prompts", type=int, default=128)
    p.add_argument("--samples-per-prompt", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--chat-template", action="store_true")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gold", metavar="REWARD.yaml", help="the labelling reward (default: the default gold, the rater)")
    p.add_argument("--parquet", action="store_true", help="also write <out>.parquet")
    p.set_defaults(func=cmd_label)

    rm = sub.add_parser("rm", help="learned reward models").add_subparsers(dest="rm_command", required=True)
    p = rm.add_parser("train", help="train a reward model on labelled samples: rm train DATA --out DIR --set key=value ...")
    p.add_argument("data", help="labelled .jsonl or .parquet (rewardlab label)")
    p.add_argument("--out", required=True, help="model directory (with splits=K > 1: DIR/split0 .. DIR/split<K-1>)")
    p.add_argument("--set", dest="settings", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="training settings, e.g. --set objective=pairwise n_labels=200 splits=2 (docs/rewards.md)")
    p.set_defaults(func=cmd_rm_train)

    gold = sub.add_parser("gold", help="the gold reward model").add_subparsers(dest="gold_command", required=True)
    p = gold.add_parser("train", help="train the rater gold (Gemma-3-270M features + MLP head on tweets and junk)")
    p.add_argument("--n", type=int, default=None, help="class-balanced real tweets (default: gold.DEFAULT_N)")
    p.add_argument("--layers", type=int, default=None, help="backbone layers that run (default: gold.DEFAULT_LAYERS)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="directory (default: the cached default gold, used by `kind: gold`)")
    p.set_defaults(func=cmd_gold_train)
    p = gold.add_parser("eval", help="report card: AUC on held-out tweets, hack-zoo families below the reference median")
    p.add_argument("gold_dir", nargs="?", help="gold directory (default: the cached default gold)")
    p.add_argument("--reward", action="append", default=[], metavar="REWARD.yaml", help="another reward to grade (repeatable)")
    p.add_argument("--reference", metavar="SAMPLES.jsonl",
                   help="reference-policy samples (prompt, completion; a run's samples.jsonl: its step 0); "
                        "default: 32 demo evaluation prompts x 8 samples of the bundled model, cached")
    p.add_argument("--per-family", type=int, default=25, help="generated texts per hack-zoo family")
    p.add_argument("--seed", type=int, default=0, help="the hack zoo's seed")
    p.add_argument("--json", metavar="FILE", help="also write the full report cards (with the highest-scored zoo texts)")
    p.set_defaults(func=cmd_gold_eval)

    p = sub.add_parser("score", help="re-score a run's saved samples offline: score RUN_DIR --reward REWARD.yaml")
    p.add_argument("run_dir")
    p.add_argument("--reward", required=True, metavar="REWARD.yaml", help="one reward spec: name, kind, path, args")
    p.add_argument("--force", action="store_true", help="overwrite an existing reward of the same name")
    p.set_defaults(func=cmd_score)
