"""LM judge (RLAIF / constitutional AI): a causal LM answers the yes/no questions of a constitution.

Score of one question = log P(yes) - log P(no) at the answer position (or P(yes) among the two answers);
reward = weighted mean over the constitution's questions. The placement of the text is the experiment:

- `same_context`: text, then question, in one context. Answer words in the text ("yes yes yes") prime the
  answer, so a policy can raise its reward by saying "yes": the exploitable judge of the yes-spammer.
- `isolated`: instructions first, the text quoted in a block with its answer words neutralised, then the
  question; scores averaged over the question's paraphrases and over swapped answer labels ("answer no
  if it is"), which cancels any pull towards one answer word. Harder to exploit, and costs 2x per phrasing.

Any causal LM can judge; each (judge model, rendered prompt) is scored once per process (in-memory cache).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rewardlab.config import RewardSpec
from rewardlab.errors import ConfigError
from rewardlab.rewards import KINDS
from rewardlab.rewards.spec import KindArgs, parse_args, scored_texts

CONSTITUTIONS = Path(__file__).resolve().parent.parent / "constitutions"
NEUTRAL_WORD = "[answer-word]"
_CACHE: dict[tuple[str, str, str], float] = {}  # (judge model, dtype, rendered prompt) -> log P(yes) - log P(no)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0.0)
    paraphrases: list[str] = []
    """Other phrasings of the same question; the isolated judge averages over all of them."""


class Constitution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str = ""
    questions: list[Question] = Field(min_length=1)


def load_constitution(ref: str) -> Constitution:
    """A packaged constitution by name (rewardlab/constitutions/<name>.yaml) or a YAML file path."""
    path = CONSTITUTIONS / f"{ref}.yaml" if (CONSTITUTIONS / f"{ref}.yaml").is_file() else Path(ref)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONSTITUTIONS.glob("*.yaml")))
        raise ConfigError(f"constitution {ref!r} is neither a packaged one ({known}) nor a file")
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"constitution {path} is not valid YAML: {e}") from None
    if not tree:
        raise ConfigError(f"constitution {path} is empty; it needs `questions: [{{text: ..., weight: ...}}]`")
    try:
        return Constitution.model_validate(tree)
    except ValidationError as e:
        msg = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"constitution {path}: {msg}") from None


class JudgeArgs(KindArgs):
    model: str = "smollm2-135m-instruct"
    constitution: str = "positive"
    placement: Literal["same_context", "isolated"] = "same_context"
    output: Literal["logodds", "p_yes"] = "logodds"
    """logodds: log P(yes) - log P(no); p_yes: P(yes) / (P(yes) + P(no))."""
    answers: tuple[str, str] = (" yes", " no")
    """The (yes, no) answer strings; each must be one token of the judge's tokenizer."""
    batch_size: int = Field(16, ge=1)
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16"] = "float32"
    """bfloat16: about 2x faster on CPUs with bf16 support; log-odds move by ~0.05 (a slightly different judge)."""


def render(text: str, question: str, placement: str, answers: tuple[str, str], swapped: bool = False) -> str:
    yes, no = (a.strip() for a in answers)
    if placement == "same_context":
        return f"{text}\n\nQuestion: {question} Answer {yes} or {no}.\nAnswer:"
    # Runs of answer words glued together ("NoNoNo", "yesYES") count too: a policy found that spelling,
    # which a word-boundary match alone lets through. Letters on either side ("yesterday", "know") do not.
    words = f"(?:{re.escape(yes)}|{re.escape(no)})"
    text = re.sub(rf"(?<![^\W\d_]){words}+(?![^\W\d_])", NEUTRAL_WORD, text, flags=re.IGNORECASE)
    ask = f"Answer {no} if it is, {yes} if it is not." if swapped else f"Answer {yes} or {no}."
    return f'Answer a question about the text in triple quotes.\n\nText: """{text}"""\n\nQuestion: {question} {ask}\nAnswer:'


def answer_ids(tokenizer, answers: tuple[str, str]) -> tuple[int, int]:
    ids = [tokenizer.encode(a, add_special_tokens=False) for a in answers]
    bad = [a for a, i in zip(answers, ids) if len(i) != 1]
    if bad:
        raise ConfigError(
            f"judge answers {bad} are not single tokens of this tokenizer ({[len(i) for i in ids]} tokens); "
            "set args.answers to words the tokenizer encodes as one token each, e.g. [' yes', ' no']"
        )
    return ids[0][0], ids[1][0]


@lru_cache(maxsize=2)
def _load(model: str, device: str, dtype: str):
    import torch

    from rewardlab.models import load_causal_lm

    lm, tok = load_causal_lm(model, device)
    return lm.eval().requires_grad_(False).to(getattr(torch, dtype)), tok


class Judge:
    """The reward: `(prompts, completions) -> scores`, plus `logodds(rendered prompts)` for analysis."""

    def __init__(self, name: str, args: JudgeArgs):
        self.name, self.args = name, args
        self.constitution = load_constitution(args.constitution)
        self.model, self.tok = _load(args.model, args.device, args.dtype)
        self.ids = answer_ids(self.tok, args.answers)

    def variants(self, q: Question) -> list[tuple[str, bool]]:
        """(question text, swapped) pairs averaged for one question."""
        if self.args.placement == "same_context":
            return [(q.text, False)]
        return [(t, s) for t in [q.text, *q.paraphrases] for s in (False, True)]

    def logodds(self, rendered: Sequence[str]) -> np.ndarray:
        """log P(yes) - log P(no) after each rendered prompt; batched (length-sorted), cached."""
        import torch

        from rewardlab.rl.logprobs import position_ids

        key = (self.args.model, self.args.dtype)
        todo = sorted({r for r in rendered if (*key, r) not in _CACHE}, key=len)
        for i in range(0, len(todo), self.args.batch_size):
            batch = todo[i : i + self.args.batch_size]
            enc = self.tok(batch, return_tensors="pt", padding=True).to(self.args.device)
            with torch.no_grad():
                logits = self.model(
                    input_ids=enc.input_ids,
                    attention_mask=enc.attention_mask,
                    position_ids=position_ids(enc.attention_mask),
                    logits_to_keep=1,
                    use_cache=False,
                ).logits[:, -1].float()
            logp = torch.log_softmax(logits, -1)
            diff = (logp[:, self.ids[0]] - logp[:, self.ids[1]]).tolist()
            _CACHE.update({(*key, r): d for r, d in zip(batch, diff)})
        return np.array([_CACHE[(*key, r)] for r in rendered])

    def __call__(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        texts = scored_texts(prompts, completions, self.args.text)
        a = self.args
        total = np.zeros(len(texts))
        for q in self.constitution.questions:
            per_variant = []
            for question, swapped in self.variants(q):
                lo = self.logodds([render(t, question, a.placement, a.answers, swapped) for t in texts])
                lo = -lo if swapped else lo
                per_variant.append(1 / (1 + np.exp(-lo)) if a.output == "p_yes" else lo)
            total += q.weight * np.mean(per_variant, axis=0)
        return (total / sum(q.weight for q in self.constitution.questions)).tolist()


def _validate(spec: RewardSpec) -> JudgeArgs:
    args = parse_args(spec, JudgeArgs)
    load_constitution(args.constitution)
    from transformers import AutoTokenizer

    from rewardlab.models import resolve

    answer_ids(AutoTokenizer.from_pretrained(resolve(args.model)), args.answers)
    return args


KINDS["judge"] = (lambda spec: Judge(spec.name, _validate(spec)), _validate)
