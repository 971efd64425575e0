"""Learned reward models, trained by rewardlab on gold-labelled samples, saved as files, loaded by path.

Objectives: `pointwise` (regression on the gold score) and `pairwise` (Bradley-Terry on pairs of samples,
the preferred one being the higher gold score). Backbones: `embedding` (frozen sentence embedding + MLP
head: seconds to train) and `lm` (a causal LM with a scalar head, trained with LoRA). Knobs that the
overoptimisation literature varies: number of labels, RM size, label noise, seed.

Data split: a fixed shuffle (`data_seed`) puts `heldout` of the rows aside (the same for every split and
seed, so reports are comparable) and cuts the rest into `splits` disjoint parts; `split` picks one. Two
proxies on disjoint samples (optimise one, early-stop on the other) differ only in `split: 0|1`.

A model directory holds meta.json plus weights.safetensors (embedding head) or adapter/ (LM backbone).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
from pydantic import Field, model_validator

from rewardlab.config import RewardSpec
from rewardlab.embed import DEFAULT_EMBEDDER
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS
from rewardlab.rewards.spec import KindArgs, parse_args, scored_texts

MIN_ROWS = 4  # per training split and in the held-out set: anything less cannot give a meaningful fit or report


class TrainArgs(KindArgs):
    objective: Literal["pointwise", "pairwise"] = "pointwise"
    backbone: Literal["embedding", "lm"] = "embedding"
    embedder: str = DEFAULT_EMBEDDER
    model: str = "smollm2-135m-instruct"
    """Causal LM for backbone: lm."""
    hidden: int = Field(256, ge=1)
    """Head width (embedding backbone)."""
    layers: int = Field(1, ge=0)
    """Hidden layers of the head; 0 = linear."""
    lora_r: int = Field(8, ge=1)
    n_labels: int | None = Field(None, ge=1)
    """Labelled rows used for training (None = the whole split); pairwise pairs them, n_labels // 2 pairs."""
    label_noise: float = Field(0.0, ge=0.0)
    """pointwise: Gaussian noise of std label_noise * std(target); pairwise: probability of flipping a pair (< 0.5)."""
    seed: int = 0
    splits: int = Field(1, ge=1)
    split: int = Field(0, ge=0)
    heldout: float = Field(0.2, gt=0.0, lt=1.0)
    data_seed: int = 0
    target: str = "gold"
    """Field of the labelled rows that holds the gold score."""
    epochs: int = Field(30, ge=1)
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    batch_size: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _check(self) -> TrainArgs:
        if self.split >= self.splits:
            raise ValueError(f"split={self.split} must be < splits={self.splits}")
        if self.objective == "pairwise" and self.label_noise >= 0.5:
            raise ValueError("pairwise label_noise is a flip probability and must be < 0.5")
        return self


class LearnedArgs(TrainArgs):
    path: str | None = None
    """A trained RM directory (`rewardlab rm train`); it scores the text it was trained on (meta.json)."""
    data: str | None = None
    """Or a labelled dataset (`rewardlab label`): trained on first use with the settings here, cached."""
    score_batch_size: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> LearnedArgs:
        if (self.path is None) == (self.data is None):
            raise ValueError("give exactly one of path (a trained RM) or data (labelled samples to train on)")
        training = self.model_fields_set & set(TrainArgs.model_fields)
        if self.path is not None and training:
            raise ValueError(f"training settings {sorted(training)} apply to args.data only, not to a trained args.path")
        return self


# ---- data -------------------------------------------------------------------------------------------
def label_samples(out: str | Path, model_name: str, prompts: Sequence[str], samples_per_prompt: int, sampling,
                  gold_spec: RewardSpec, seed: int = 0, chat_template: bool = False, batch_size: int = 32,
                  parquet: bool = False, source: str = "", device: str = "auto") -> dict:
    """Sample completions from `model_name` and label them with the gold: the training data of a learned
    RM. Writes `out` (JSONL; rows: id, prompt_id, prompt, completion, gold), `<out>.meta.json` with the
    settings, optionally `<out>.parquet`; returns the meta."""
    from datetime import datetime, timezone

    import torch

    from rewardlab import __version__
    from rewardlab.models import load_causal_lm, resolve_device
    from rewardlab.rewards import build_reward, validate_reward
    from rewardlab.runs import atomic_write_text
    from rewardlab.sampling import sample_batched

    validate_reward(gold_spec)
    gold = build_reward(gold_spec)
    model, tok = load_causal_lm(model_name, resolve_device(device))
    model.eval().to(getattr(torch, sampling.dtype))
    torch.manual_seed(seed)
    jobs = [(i, p) for i, p in enumerate(prompts) for _ in range(samples_per_prompt)]
    drawn = sample_batched(model, tok, [p for _, p in jobs], sampling, chat_template, batch_size, desc="label: sample")
    completions = [c for c, _ in drawn]
    scores = gold([p for _, p in jobs], completions)
    rows = [{"id": k, "prompt_id": i, "prompt": p, "completion": c, "gold": s if math.isfinite(s) else None}
            for k, ((i, p), c, s) in enumerate(zip(jobs, completions, scores))]
    valid = [s for s in scores if math.isfinite(s)]
    meta = {
        "rows": len(rows), "model": model_name, "prompts": source, "n_prompts": len(prompts),
        "samples_per_prompt": samples_per_prompt, "sampling": sampling.model_dump(), "chat_template": chat_template,
        "seed": seed, "gold": gold_spec.model_dump(), "gold_mean": sum(valid) / max(len(valid), 1),
        "rewardlab_version": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, "".join(json.dumps(r) + "\n" for r in rows))
    atomic_write_text(out.with_suffix(".meta.json"), json.dumps(meta, indent=2) + "\n")
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows).replace_schema_metadata({"rewardlab": json.dumps(meta)})
        pq.write_table(table, out.with_suffix(".parquet"))
    return meta


def read_labelled(path: str | Path) -> list[dict]:
    """Rows of a labelled dataset (.jsonl or .parquet)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"labelled data not found: {p} (make it with `rewardlab label --out {p}`)")
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(p).to_pylist()
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def split_indices(n: int, heldout: float, splits: int, data_seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(held-out rows, one disjoint array of training rows per split), from a fixed shuffle."""
    perm = np.random.default_rng(data_seed).permutation(n)
    n_held = math.ceil(heldout * n)
    parts = np.array_split(perm[n_held:], splits)
    if n_held < MIN_ROWS or min(len(p) for p in parts) < MIN_ROWS:
        raise ConfigError(
            f"labelled set too small to split: {n} rows, heldout={heldout} -> {n_held} held out, {splits} split(s) of "
            f"{min(len(p) for p in parts)} rows; need at least {MIN_ROWS} in each (label more samples)"
        )
    return perm[:n_held], parts


def pairs(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Disjoint random pairs (winner, loser) of row positions, ties dropped."""
    perm = rng.permutation(len(scores))
    a, b = perm[0 : len(perm) - 1 : 2], perm[1::2]
    keep = scores[a] != scores[b]
    a, b = a[keep], b[keep]
    win = scores[a] > scores[b]
    return np.stack([np.where(win, a, b), np.where(win, b, a)], axis=1)


# ---- models -----------------------------------------------------------------------------------------
def make_head(in_dim: int, hidden: int, layers: int, out_dim: int):
    """MLP head on a frozen embedding; layers=0 is a linear (logistic-regression) head."""
    import torch.nn as nn

    mods, d = [], in_dim
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.GELU()]
        d = hidden
    return nn.Sequential(*mods, nn.Linear(d, out_dim))


def fit(params, batch_loss: Callable, n: int, eval_loss: Callable[[], float], epochs: int, lr: float,
        weight_decay: float, batch_size: int, seed: int) -> list[float]:
    """Minibatch AdamW over `n` training items; returns the held-out loss before training and after each epoch.
    A fixed number of epochs, no selection on the held-out loss: it stays an honest report."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    history = [eval_loss()]
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            opt.zero_grad(set_to_none=True)
            batch_loss(idx).backward()
            opt.step()
        history.append(eval_loss())
    return history


def bt_loss(s_win, s_lose):
    """Bradley-Terry: -log sigmoid(r_winner - r_loser)."""
    import torch.nn.functional as F

    return -F.logsigmoid(s_win - s_lose).mean()


class EmbeddingScorer:
    """Frozen embedder + head; scores = head output (scalar) or sum_c P(c) * value_c (classes)."""

    def __init__(self, head, meta: dict):
        self.head, self.meta = head.eval(), meta

    def __call__(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        from rewardlab.embed import embed

        with torch.no_grad():
            out = self.head(torch.from_numpy(embed(texts, self.meta["embedder"], batch_size)))
        if "classes" in self.meta:
            values = torch.tensor([self.meta["class_values"][c] for c in self.meta["classes"]])
            return (out.softmax(-1) @ values).numpy().astype(np.float64)
        return (out[:, 0] * self.meta["target_std"] + self.meta["target_mean"]).numpy().astype(np.float64)


class LMScorer:
    """Causal LM + scalar head (sequence classification, last token) with LoRA adapters."""

    def __init__(self, model, tok, meta: dict):
        self.model, self.tok, self.meta = model, tok, meta

    def raw(self, texts: Sequence[str]):
        enc = self.tok(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=256)
        return self.model(**enc).logits[:, 0]

    def __call__(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        import torch

        self.model.eval()
        with torch.no_grad():
            out = [self.raw(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return (torch.cat(out) * self.meta["target_std"] + self.meta["target_mean"]).numpy().astype(np.float64)


def _lm_backbone(model_name: str, lora_r: int | None, adapter: Path | None = None):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rewardlab.models import resolve

    where = resolve(model_name)
    tok = AutoTokenizer.from_pretrained(where)
    tok.pad_token = tok.pad_token or tok.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(where, num_labels=1, dtype="float32")
    model.config.pad_token_id = tok.pad_token_id
    if adapter is not None:
        return PeftModel.from_pretrained(model, adapter), tok
    cfg = LoraConfig(r=lora_r, lora_alpha=2 * lora_r, target_modules="all-linear", task_type="SEQ_CLS")
    return get_peft_model(model, cfg), tok


def load_scorer(path: str | Path) -> EmbeddingScorer | LMScorer:
    """A saved reward model (learned RM or gold) from its directory."""
    from safetensors.torch import load_file

    d = Path(path)
    if not (d / "meta.json").is_file():
        raise ConfigError(f"{d} is not a rewardlab reward model directory (no meta.json)")
    meta = json.loads((d / "meta.json").read_text())
    if meta["backbone"] == "lm":
        return LMScorer(*_lm_backbone(meta["model"], None, d / "adapter"), meta)
    head = make_head(meta["in_dim"], meta["hidden"], meta["layers"], len(meta.get("classes", [0])))
    head.load_state_dict(load_file(d / "weights.safetensors"))
    return EmbeddingScorer(head, meta)


def save_head(out: Path, head, meta: dict) -> None:
    from safetensors.torch import save_file

    from rewardlab.runs import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, out / "weights.safetensors")
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=2) + "\n")


# ---- training ---------------------------------------------------------------------------------------
def train_rm(data: str | Path, args: TrainArgs, out: str | Path) -> dict:
    """Train a reward model on labelled rows; save it under `out`; return its report (also in meta.json).
    Training draws from its own seeded generator state: the caller's global torch stream is left as it was,
    so a run that builds its reward model first draws the same numbers as one that finds it cached."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _train_rm(data, args, out)


def _train_rm(data: str | Path, args: TrainArgs, out: str | Path) -> dict:
    import torch

    from rewardlab.runs import atomic_write_text

    rows = read_labelled(data)
    missing = [i for i, r in enumerate(rows) if not isinstance(r.get(args.target), (int, float))]
    if missing:
        raise ConfigError(f"{data}: row {missing[0]} has no numeric {args.target!r} field")
    texts = scored_texts([r.get("prompt", "") for r in rows], [r["completion"] for r in rows], args.text)
    gold = np.array([float(r[args.target]) for r in rows])
    held, parts = split_indices(len(rows), args.heldout, args.splits, args.data_seed)
    train = parts[args.split][: args.n_labels]
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    mean, std = float(gold[train].mean()), float(gold[train].std() or 1.0)
    y = torch.tensor((gold - mean) / std, dtype=torch.float32)
    hp = pairs(gold[held], np.random.default_rng(args.data_seed))  # fixed held-out pairs (positions in held)
    if args.objective == "pointwise":
        y_noisy = y + torch.from_numpy(rng.normal(0.0, args.label_noise, len(y))).float()
        items = torch.from_numpy(train)
    else:
        tp = pairs(gold[train], rng)
        flip = rng.random(len(tp)) < args.label_noise
        tp[flip] = tp[flip][:, ::-1]
        items = torch.from_numpy(train[tp])
    if len(items) < 2 or len(hp) < 2:
        raise ConfigError(f"{data}: too few distinct gold scores to train and evaluate a {args.objective} RM")

    meta = {"backbone": args.backbone, "objective": args.objective, "text": args.text, "target_mean": mean, "target_std": std}
    if args.backbone == "embedding":
        from rewardlab.embed import embed

        used = np.concatenate([train, held])
        e = embed([texts[i] for i in used], args.embedder)
        x = torch.zeros(len(texts), e.shape[1])
        x[torch.from_numpy(used)] = torch.from_numpy(e)
        head = make_head(x.shape[1], args.hidden, args.layers, 1)
        score = lambda idx: head(x[idx])[:, 0]  # noqa: E731
        params = list(head.parameters())
        meta.update(embedder=args.embedder, in_dim=x.shape[1], hidden=args.hidden, layers=args.layers)
    else:
        model, tok = _lm_backbone(args.model, args.lora_r)
        scorer = LMScorer(model, tok, meta)
        score = lambda idx: scorer.raw([texts[i] for i in idx.tolist()])  # noqa: E731
        params = [p for p in model.parameters() if p.requires_grad]
        meta.update(model=args.model, lora_r=args.lora_r)

    def predict_held() -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([score(torch.from_numpy(c)) for c in np.array_split(held, math.ceil(len(held) / 64))])

    def eval_loss() -> float:
        p = predict_held()
        if args.objective == "pointwise":
            return float(((p - y[held]) ** 2).mean())
        return float(bt_loss(p[hp[:, 0]], p[hp[:, 1]]))

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        b = items[idx]
        if args.objective == "pointwise":
            return ((score(b) - y_noisy[b]) ** 2).mean()
        return bt_loss(score(b[:, 0]), score(b[:, 1]))

    history = fit(params, batch_loss, len(items), eval_loss, args.epochs, args.lr, args.weight_decay, args.batch_size, args.seed)
    pred = predict_held().numpy()
    report = {
        "rows": len(rows), "train_rows": len(train), "heldout_rows": len(held), "train_items": len(items),
        "heldout_loss_before": history[0], "heldout_loss_after": history[-1],
        "heldout_pearson": float(np.corrcoef(pred, gold[held])[0, 1]),
        "heldout_pair_accuracy": float(np.mean(pred[hp[:, 0]] > pred[hp[:, 1]])),
    }
    meta.update(report=report, args=args.model_dump(), data=str(data), heldout_loss_history=history,
                train_ids=train.tolist(), heldout_ids=held.tolist())
    out = Path(out)
    if args.backbone == "embedding":
        save_head(out, head, meta)
    else:
        model.save_pretrained(out / "adapter")
        atomic_write_text(out / "meta.json", json.dumps(meta, indent=2) + "\n")
    return report


# ---- the reward -------------------------------------------------------------------------------------
class ScorerReward:
    """A saved reward model as a reward: texts -> scores, in batches."""

    def __init__(self, name: str, scorer: EmbeddingScorer | LMScorer, text: str, batch_size: int):
        self.name, self.scorer, self.text, self.batch_size = name, scorer, text, batch_size

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return self.scorer(scored_texts(prompts, completions, self.text), self.batch_size).tolist()


def _train_args(args: LearnedArgs) -> TrainArgs:
    return TrainArgs(**args.model_dump(include=set(TrainArgs.model_fields)))


def trained_dir(args: LearnedArgs) -> Path:
    """Where `args.data` + training settings are trained to, keyed by the data's bytes and the settings."""
    from rewardlab.models import cache_dir

    h = hashlib.sha256(Path(args.data).read_bytes())
    h.update(_train_args(args).model_dump_json().encode())
    return cache_dir() / "rm" / h.hexdigest()[:16]


def _build(spec: RewardSpec) -> ScorerReward:
    from rewardlab.runs import build_dir_once

    args = _validate(spec)
    path = Path(args.path) if args.path else build_dir_once(trained_dir(args), lambda tmp: train_rm(args.data, _train_args(args), tmp))
    scorer = load_scorer(path)
    return ScorerReward(spec.name, scorer, scorer.meta["text"], args.score_batch_size)


def _validate(spec: RewardSpec) -> LearnedArgs:
    args = parse_args(spec, LearnedArgs)
    if args.path is not None and not (Path(args.path) / "meta.json").is_file():
        raise ConfigError(
            f"reward {spec.name!r}: {args.path} is not a trained reward model (no meta.json); train one with `rewardlab rm train`"
        )
    if args.data is not None:
        split_indices(len(read_labelled(args.data)), args.heldout, args.splits, args.data_seed)
    return args


KINDS["learned"] = (_build, _validate)
