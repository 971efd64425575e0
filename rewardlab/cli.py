"""`rewardlab` command line: parse, validate, call the library. Errors print one line and exit 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import datetime
from pathlib import Path

from rewardlab.errors import RewardlabError

# Each area of the lab adds its own subcommands with `add_commands(subparsers)`; this file stays a thin
# dispatcher. Those modules import heavy libraries only inside their command functions.
COMMAND_MODULES: tuple[str, ...] = ("rewardlab.rewards.commands", "rewardlab.measure.commands", "rewardlab.demo")


def _run_dir_for(cfg) -> Path:
    name = cfg.train.run_name or f"{cfg.rewards.proxy.name}-{cfg.algo.name}-s{cfg.train.seed}-{datetime.now():%Y%m%d-%H%M%S}"
    return Path(cfg.train.out_dir) / name


def cmd_train(args: argparse.Namespace) -> None:
    from rich.console import Console

    from rewardlab.config import load_config
    from rewardlab.rl.loop import prepare, train
    from rewardlab.runs import RunDir

    console = Console(stderr=True)
    if args.resume:
        run = RunDir(args.resume)
        if not run.config_path.is_file():
            raise RewardlabError(f"{args.resume} is not a run directory (no config.yaml)")
        cfg = load_config(run.config_path, args.overrides)
    else:
        if args.config is None:
            raise RewardlabError("give a CONFIG.yaml, or --resume RUN_DIR")
        cfg = load_config(args.config, args.overrides)
        run = RunDir(args.out or _run_dir_for(cfg))
        if run.config_path.exists():
            raise RewardlabError(f"{run.path} already holds a run; use --resume {run.path} or another train.run_name")
    prepare(cfg)  # bad prompts, rewards or model fail here, before the run directory is written
    console.print(f"[bold]rewardlab train[/bold] → {run.path}")
    console.print(cfg.to_yaml(), highlight=False, markup=False)
    train(cfg, run, resume=bool(args.resume), progress=not args.no_progress)
    last = run.metrics()[-1]
    summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k.startswith("eval/") and isinstance(v, float))
    console.print(f"done: {run.path}  ({summary})")


def cmd_models(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from rewardlab.data import BUILTIN
    from rewardlab.models import cache_dir, list_models

    table = Table(title=f"models (cache: {cache_dir()})")
    for col in ("name", "kind", "status", "where", "about"):
        table.add_column(col, overflow="fold")
    for row in list_models():
        table.add_row(*row.values())
    console = Console()
    console.print(table)
    prompts = Table(title="built-in prompt sets (data.prompts: builtin:<name>)")
    prompts.add_column("name")
    prompts.add_column("about")
    for name, (_, about) in BUILTIN.items():
        prompts.add_row(name, about)
    console.print(prompts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewardlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="RL fine-tuning run: rewardlab train CONFIG.yaml key=value ...")
    p.add_argument("config", nargs="?", help="YAML config (see configs/)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. algo.lr=1e-4 train.steps=20")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--out", help="run directory (default: train.out_dir/<name>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", aliases=["info"], help="available models, prompt sets and the cache")
    p.set_defaults(func=cmd_models)
    for mod in COMMAND_MODULES:
        importlib.import_module(mod).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    # Overrides may stand after options (`train C.yaml --out R k=v`), which argparse leaves over.
    args, extra = parser.parse_known_args(argv)
    if extra and (not hasattr(args, "overrides") or any(x.startswith("-") or "=" not in x for x in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    # `train --resume RUN key=value`: argparse takes the first override as CONFIG
    if getattr(args, "resume", None) and args.config is not None:
        args.overrides = [args.config, *args.overrides]
        args.config = None
    try:
        args.func(args)
    except RewardlabError as e:
        print(f"rewardlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        again = "run the same command again" if args.command == "demo" else "continue with --resume"
        print(f"rewardlab: interrupted (the last checkpoint is intact; {again})", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
