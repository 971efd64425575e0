"""Typed, validated experiment config: YAML in, resolved YAML saved with every run.

Every section forbids unknown keys, so a misspelt key is an error naming the key, not a silently
ignored setting. Configs are frozen: nothing mutates them after validation.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rewardlab.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class LoraConfig(Section):
    enabled: bool = True
    """LoRA adapters (reference = base with adapters disabled, no second weight copy); False = full fine-tuning."""
    r: int = Field(16, ge=1)
    alpha: float = 32.0
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | str = "all-linear"


class ModelConfig(Section):
    name: str = "smollm2-135m-instruct"
    """A registry name (`rewardlab models`), a local Hugging Face directory, or a hub id."""
    lora: LoraConfig = LoraConfig()
    bf16_autocast: bool = False
    """bf16 autocast for forward passes (CPU or GPU); master weights and optimizer stay fp32."""
    device: str = "auto"
    """"auto" = cuda if available, else cpu."""


class DataConfig(Section):
    prompts: str = "builtin:stories"
    """`builtin:<name>` (see `rewardlab models`), or a .jsonl (field `prompt`) / .txt (one per line) file."""
    eval_prompts: str | None = None
    """Held-out prompts for evaluation; None = the last `num_eval_prompts` of `prompts`, never trained on."""
    num_eval_prompts: int = Field(16, ge=1)
    chat_template: bool = False
    """Wrap each prompt as a user turn with the tokenizer's chat template."""


class SamplingConfig(Section):
    max_new_tokens: int = Field(24, ge=1)
    temperature: float = Field(1.0, gt=0.0)
    top_k: int = Field(0, ge=0)
    """0 = no top-k truncation. Truncation makes the sampling distribution differ from the policy's."""
    dtype: Literal["float32", "bfloat16"] = "float32"
    """Weights of the inference copy that generates (LoRA merged in). bfloat16 is faster on CPUs with
    bf16 support; its log-probs then differ slightly from the fp32 reference (noise in the KL)."""


class RewardSpec(Section):
    """One reward: a callable `(prompts, completions) -> list[float]`.

    `kind: python` takes `path: package.module:function`; other kinds (judge, learned, embedding,
    checker, ensemble) are added by `rewardlab.rewards` and read their own keys from `args`.
    """

    name: str
    """Unique within a run; metrics are `reward/<name>` and `eval/reward/<name>`."""
    kind: str = "python"
    """python, judge, learned, gold, sentiment_minilm, embedding, checker, sum, ensemble (docs/rewards.md)."""
    path: str | None = None
    """kind python: `package.module:function`."""
    args: dict[str, Any] = {}
    """The kind's own settings, validated by the kind before any model loads."""
    eval_subset_per_prompt: int | None = Field(None, ge=1)
    """Evaluation only: score this reward on the first N samples of each evaluation prompt instead of all
    `train.eval_samples_per_prompt` (for an expensive watched reward such as the isolated judge). The
    metric is then the mean over that subset, and `eval/n/<name>` logs how many samples it saw."""


class RewardsConfig(Section):
    proxy: RewardSpec = RewardSpec(name="length", path="rewardlab.rewards.builtin:length_reward")
    """The one reward that is optimised."""
    gold: list[RewardSpec] = []
    """Rewards computed on evaluation samples and logged, never optimised."""
    nonfinite: Literal["error", "drop"] = "error"
    """NaN/inf reward: stop with an error naming reward and sample, or drop the sample and count it."""

    @model_validator(mode="after")
    def _names_unique(self) -> RewardsConfig:
        names = [self.proxy.name] + [g.name for g in self.gold]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"reward names must be unique; repeated: {sorted(dup)}")
        for g in self.gold:
            if g.model_dump() == {**self.proxy.model_dump(), "name": g.name}:
                raise ValueError(f"gold reward {g.name!r} is the optimised proxy itself; a gold must differ")
        return self


class AlgoConfig(Section):
    name: Literal["reinforce", "rloo", "grpo"] = "rloo"
    """reinforce: batch-mean baseline; rloo: leave-one-out baseline over k samples; grpo: group-normalised."""
    prompts_per_step: int = Field(8, ge=1)
    samples_per_prompt: int = Field(4, ge=1)
    updates_per_batch: int = Field(1, ge=1)
    """>1 re-uses each batch; the PPO-style clipped ratio then matters."""
    clip_eps: float = Field(0.2, gt=0.0)
    kl_coef: float = Field(0.05, ge=0.0)
    kl_mode: Literal["reward", "loss"] = "reward"
    """reward: k1 sequence KL subtracted from the reward (no gradient through it); loss: k3 KL as a loss term."""
    loss_agg: Literal["token_mean", "seq_mean", "seq_sum"] = "token_mean"
    lr: float = Field(3e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0.0)
    micro_batch_size: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _k_for_group_baselines(self) -> AlgoConfig:
        if self.name in ("rloo", "grpo") and self.samples_per_prompt < 2:
            raise ValueError(f"{self.name} needs samples_per_prompt >= 2 (a baseline from the other samples)")
        return self


class TrainConfig(Section):
    steps: int = Field(50, ge=1)
    seed: int = 0
    eval_every: int = Field(10, ge=1)
    """Evaluate (generate on held-out prompts, score proxy and gold, save samples) every N steps and at step 0."""
    eval_samples_per_prompt: int = Field(1, ge=1)
    checkpoint_every: int = Field(10, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    out_dir: str = "runs"
    run_name: str | None = None
    """None = `<proxy name>-<algo>-s<seed>-<timestamp>`."""
    num_threads: int = Field(0, ge=0)
    """torch CPU threads; 0 = leave torch's default."""


class Config(Section):
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    sampling: SamplingConfig = SamplingConfig()
    rewards: RewardsConfig = RewardsConfig()
    algo: AlgoConfig = AlgoConfig()
    train: TrainConfig = TrainConfig()


def apply_override(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {k!r} is not a section")
    node[keys[-1]] = value


def parse_overrides(items: list[str]) -> list[tuple[str, Any]]:
    """`a.b=3` → ("a.b", 3); values are parsed as YAML so numbers, bools and lists work."""
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.path=value")
        key, raw = item.split("=", 1)
        out.append((key.strip(), yaml.safe_load(raw) if raw else ""))
    return out


def _suggest(loc: tuple, model: type[BaseModel]) -> str:
    """Name the closest valid key for a misspelt one."""
    cls: Any = model
    for part in loc[:-1]:
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return ""
        cls = field.annotation
    valid = list(getattr(cls, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (valid keys: {', '.join(valid)})"


def build_config(tree: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(tree)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"])
            hint = _suggest(err["loc"], Config) if err["type"] == "extra_forbidden" else ""
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {loc}: {msg}{hint}")
        raise ConfigError("invalid config:\n" + "\n".join(lines)) from None


def load_reward_spec(path: str | Path) -> RewardSpec:
    """One reward spec (name, kind, path, args) from a YAML file, as one entry of `rewards.gold`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"reward spec file not found: {p}")
    try:
        return RewardSpec.model_validate(yaml.safe_load(p.read_text()) or {})
    except ValidationError as e:
        raise ConfigError(f"{p}: " + "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None


def read_config_tree(path: str | Path) -> dict[str, Any]:
    """A config file's YAML mapping, or a ConfigError saying why not."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    tree = yaml.safe_load(p.read_text()) or {}
    if not isinstance(tree, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    return tree


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for key, value in parse_overrides(list(overrides)):
        apply_override(tree, key, value)
    return tree


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Load YAML (or defaults when path is None), apply `key=value` overrides, validate."""
    tree = read_config_tree(path) if path is not None else {}
    return build_config(apply_overrides(tree, list(overrides)))
