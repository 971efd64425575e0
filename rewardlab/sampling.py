"""Batched sampling: prompts in, padded token tensors with a completion mask out."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rewardlab.config import SamplingConfig


@dataclass
class Rollout:
    """A batch of prompt+completion token rows.

    input_ids:       (B, P + L) left-padded prompts, then completions right-padded with pad tokens
    attention_mask:  (B, P + L) 1 on real tokens
    completion_mask: (B, L) 1 on completion tokens up to and including the first EOS
    logprobs:        (B, L) log-probs of the sampled tokens under the distribution they were drawn from
                     (the sampler's copy of the policy, temperature applied); the loop logs their gap to
                     the teacher-forced log-probs as `kl/sampler_gap`
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    completion_mask: torch.Tensor
    logprobs: torch.Tensor
    prompt_width: int
    completions: list[str]

    @property
    def completion_ids(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_width :]


def format_prompts(tokenizer, prompts: list[str], chat_template: bool) -> list[str]:
    if not chat_template:
        return prompts
    if tokenizer.chat_template is None:
        from rewardlab.errors import ConfigError

        raise ConfigError("data.chat_template is true but the tokenizer has no chat template")
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
        for p in prompts
    ]


def completion_mask(completion_ids: torch.Tensor, eos_id: int | None) -> torch.Tensor:
    """1 up to and including the first EOS (or everywhere if no EOS), (B, L) float."""
    if eos_id is None:
        return torch.ones_like(completion_ids, dtype=torch.float32)
    is_eos = completion_ids == eos_id
    after_eos = (is_eos.long().cumsum(-1) - is_eos.long()) > 0  # strictly after the first EOS
    return (~after_eos).float()


@torch.no_grad()
def sample(model, tokenizer, prompts: list[str], cfg: SamplingConfig, chat_template: bool = False) -> Rollout:
    """Sample one completion per prompt row (repeat prompts to get k samples each)."""
    device = next(model.parameters()).device
    texts = format_prompts(tokenizer, prompts, chat_template)
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    width = enc.input_ids.shape[1]
    out = model.generate(
        **enc,
        do_sample=True,
        temperature=cfg.temperature,
        top_k=cfg.top_k,  # 0 disables top-k; None would fall back to the model's default (often 50)
        top_p=1.0,
        max_new_tokens=cfg.max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        return_dict_in_generate=True,
        output_scores=True,  # processed (temperature/top-k) logits: the exact sampling distribution
    )
    comp = out.sequences[:, width:]
    scores = torch.stack(out.scores, dim=1)  # (B, L, V)
    logprobs = torch.log_softmax(scores.float(), -1).gather(-1, comp.unsqueeze(-1)).squeeze(-1)
    cmask = completion_mask(comp, tokenizer.eos_token_id).to(device)
    attn = torch.cat([enc.attention_mask, cmask.long()], dim=1)
    # Decode only the kept tokens (without the EOS itself).
    keep = cmask.bool() & (comp != tokenizer.eos_token_id)
    completions = [tokenizer.decode(row[m], skip_special_tokens=True) for row, m in zip(comp, keep)]
    return Rollout(out.sequences, attn, cmask, logprobs * cmask, width, completions)


class Sampler:
    """An inference copy of the policy that generation runs on, refreshed from the policy before each use.

    Why a copy: with LoRA, every decode step would run the adapter's two extra matmuls in each of ~200
    linear layers; merging them into the weights made generation 1.6–1.8× faster here. Merging in place
    (peft merge/unmerge) would let fp32 round-off drift into the base weights, which are also the
    reference; the copy is instead rebuilt exactly as base + delta at each refresh. The copy can be
    bf16 (`sampling.dtype`), faster again on CPUs with bf16 support. Full fine-tuning in fp32 samples
    from the policy itself: there is nothing to merge or cast.
    """

    def __init__(self, policy, copy: torch.nn.Module | None):
        """`copy`: from `inference_copy(base)`, taken before the base was wrapped with LoRA."""
        self.policy, self.model = policy, copy
        self.verbatim: list[tuple[torch.Tensor, torch.Tensor]] = []  # (copy param, trained param)
        self.merged: list[tuple[torch.Tensor, torch.Tensor, torch.nn.Module]] = []  # (copy, base weight, LoRA layer)
        if copy is None:
            return
        targets = dict(copy.named_parameters())
        modules = dict(policy.named_modules())
        for name, param in policy.named_parameters():
            plain = name.removeprefix("base_model.model.").replace(".base_layer.", ".")
            if plain not in targets:
                continue  # LoRA factors themselves
            owner = modules.get(name.removesuffix(".base_layer.weight"))
            if name.endswith(".base_layer.weight") and hasattr(owner, "get_delta_weight"):
                self.merged.append((targets[plain], param, owner))
            elif param.requires_grad:
                self.verbatim.append((targets[plain], param))

    @staticmethod
    def inference_copy(base: torch.nn.Module, lora: bool, dtype: str) -> torch.nn.Module | None:
        import copy

        if not lora and dtype == "float32":
            return None
        return copy.deepcopy(base).to(getattr(torch, dtype)).eval().requires_grad_(False)

    @torch.no_grad()
    def refresh(self) -> None:
        """Copy base + LoRA delta into the copy, in fp32 whatever autocast is active outside."""
        device = self.model.device.type if self.model is not None else "cpu"
        with torch.autocast(device_type=device, enabled=False):
            self._copy_weights()

    def _copy_weights(self) -> None:
        for target, source in self.verbatim:
            target.copy_(source)
        for target, base_weight, layer in self.merged:
            target.copy_(base_weight + layer.get_delta_weight("default"))

    def __call__(self, tokenizer, prompts: list[str], cfg: SamplingConfig, chat_template: bool = False) -> Rollout:
        if self.model is None:
            return sample(self.policy, tokenizer, prompts, cfg, chat_template)
        self.refresh()
        return sample(self.model, tokenizer, prompts, cfg, chat_template)


def sample_batched(model, tokenizer, prompts: list[str], cfg: SamplingConfig, chat_template: bool = False,
                   batch_size: int = 64, autocast=None, desc: str = "sample",
                   progress: bool = True) -> list[tuple[str, int]]:
    """(completion, completion tokens) for each entry of `prompts` (repeat a prompt for k samples), in
    batches of `batch_size` rows, with a progress bar: the many-sample path of best-of-n and labelling."""
    import contextlib

    from tqdm.auto import tqdm

    out: list[tuple[str, int]] = []
    with tqdm(total=len(prompts), desc=desc, unit="sample", disable=not progress, dynamic_ncols=True) as bar:
        for start in range(0, len(prompts), batch_size):
            with autocast or contextlib.nullcontext():
                r = sample(model, tokenizer, prompts[start : start + batch_size], cfg, chat_template)
            out += zip(r.completions, r.completion_mask.sum(-1).int().tolist())
            bar.update(len(r.completions))
    return out
