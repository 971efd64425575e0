"""CLI: `rewardlab bon`, `rewardlab fit`, `rewardlab report`. Heavy imports stay inside the commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rewardlab.errors import RewardlabError


def cmd_bon(args: argparse.Namespace) -> None:
    from rich.console import Console

    from rewardlab.config import load_reward_spec
    from rewardlab.measure.bon import load_bon_config, rescore, run_bon

    console = Console(stderr=True)
    if args.rescore:
        if not args.reward:
            raise RewardlabError("--rescore BON_DIR needs at least one --reward SPEC.yaml")
        d = rescore(args.rescore, [load_reward_spec(p) for p in args.reward], progress=not args.no_progress)
    else:
        if args.config is None:
            raise RewardlabError("give a CONFIG.yaml, or --rescore BON_DIR --reward SPEC.yaml")
        if args.reward:
            raise RewardlabError("--reward goes with --rescore; to sample and score, list rewards in the config")
        cfg, dropped = load_bon_config(args.config, args.overrides)
        if dropped:
            console.print(f"note: ignoring the RL-only sections {', '.join(dropped)} of {args.config}")
        d = run_bon(cfg, args.out, progress=not args.no_progress)
    last = json.loads(d.curve_path.read_text().splitlines()[-1])
    summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "n")
    console.print(f"done: {d.path}  (n={last['n']}: {summary})")


def cmd_fit(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from rewardlab.measure.fits import fit, load_curves

    fits = []
    for path in args.paths:
        data = load_curves(path, kl=args.kl)
        fits += [fit(data, name, n_boot=args.boot) for name in (args.reward or data.names)]
    if args.json:
        print(json.dumps([f.to_dict() for f in fits], indent=2, allow_nan=True))
        return
    table = Table(title="Goodhart fits: rewards centred at the initial policy, 95% bootstrap CIs over prompts")
    for col in ("source", "reward", "form", "α", "β", "peak d=√KL", "R* at peak", "R²", "points"):
        table.add_column(col, overflow="fold")
    for f in fits:
        def ci(k: str) -> str:
            lo, hi = f.ci.get(k, (float("nan"),) * 2)
            return f"\n[{lo:.3g}, {hi:.3g}]"

        no_peak = f.d_star == float("inf")
        peak = "none (β≤0)" if no_peak else f"{f.d_star:.3g}{ci('d_star')}" + ("\nbeyond data" if f.extrapolated else "")
        table.add_row(Path(f.source).name, f.reward, f.form, f"{f.alpha:.3g}{ci('alpha')}", f"{f.beta:.3g}{ci('beta')}",
                      peak, "—" if no_peak else f"{f.r_star:+.3g}{ci('r_star')}", f"{f.r2:.3f}", str(f.n_points))
    Console().print(table)


def cmd_report(args: argparse.Namespace) -> None:
    from rich.console import Console

    from rewardlab.report import build_report

    out = build_report(args.runs, args.out, named_tokens=args.named_token, embed=not args.no_embed, n_boot=args.boot)
    Console(stderr=True).print(f"report: {out}")


def add_commands(sub) -> None:
    p = sub.add_parser("bon", help="best-of-n from the reference policy: rewardlab bon CONFIG.yaml key=value ...")
    p.add_argument("config", nargs="?", help="YAML: model, data, sampling, rewards, bon (an RL config also works)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. bon.n=32 sampling.temperature=0.7")
    p.add_argument("--out", help="best-of-n directory (default: bon.out_dir/bon-<proxy>-n<N>-s<seed>)")
    p.add_argument("--rescore", metavar="BON_DIR", help="score cached samples with more rewards; nothing is resampled")
    p.add_argument("--reward", action="append", metavar="SPEC.yaml", help="a reward spec (name, kind, path, args); repeatable")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_bon)

    p = sub.add_parser("fit", help="fit Gao et al.'s functional forms to run or best-of-n directories")
    p.add_argument("paths", nargs="+", metavar="DIR", help="run directories and/or best-of-n directories")
    p.add_argument("--reward", action="append", help="only this reward (repeatable; default: proxy and every gold)")
    p.add_argument("--kl", choices=["bound", "beirami"], default="bound",
                   help="best-of-n KL: log n - (n-1)/n (Gao et al.'s axis) or Beirami et al.'s estimate")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the prompts (0 = no CIs)")
    p.add_argument("--json", action="store_true", help="print the fits as JSON")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("report", help="one self-contained HTML report (plus PNGs) for runs and best-of-n dirs")
    p.add_argument("runs", nargs="+", metavar="DIR", help="run directories and/or best-of-n directories")
    p.add_argument("--out", help="output directory (default: <first DIR>/report)")
    p.add_argument("--named-token", action="append", default=[], metavar="WORD",
                   help="a token whose share the spam detector watches, e.g. the judge's answer word; repeatable")
    p.add_argument("--no-embed", action="store_true", help="skip the semantic-collapse detector (no embedding model)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the fit CIs")
    p.set_defaults(func=cmd_report)
