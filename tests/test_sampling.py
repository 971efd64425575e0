import torch

from rewardlab.config import SamplingConfig
from rewardlab.models import load_causal_lm
from rewardlab.rl.logprobs import token_logprobs
from rewardlab.sampling import completion_mask, sample


def test_completion_mask_stops_after_first_eos():
    ids = torch.tensor([[5, 6, 0, 7, 0], [5, 6, 7, 8, 9], [0, 1, 1, 1, 1]])
    want = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.float32)
    assert torch.equal(completion_mask(ids, eos_id=0), want)


def test_sampler_logprobs_equal_a_fresh_forward(tiny_model):
    """The sampler's log-probs (the reward-mode KL penalty; `kl/sampler_gap` against the teacher-forced ones) match a padded full forward pass."""
    model, tok = load_causal_lm(str(tiny_model))
    torch.manual_seed(0)
    prompts = ["the cat", "a quiet morning in the village", "yes"]
    r = sample(model, tok, prompts, SamplingConfig(max_new_tokens=6, temperature=0.8))
    with torch.no_grad():
        lp, _ = token_logprobs(model, r.input_ids, r.attention_mask, r.prompt_width, 0.8)
    assert torch.allclose(lp * r.completion_mask, r.logprobs, atol=1e-4)
    assert len(r.completions) == 3 and r.completion_mask.shape == (3, r.input_ids.shape[1] - r.prompt_width)


def test_sampler_copy_equals_the_lora_policy_after_updates(tiny_model):
    """The merged inference copy computes the same function as base + adapter, and the reference
    (adapter disabled) is untouched by refreshes."""
    from rewardlab.config import LoraConfig
    from rewardlab.models import make_policy
    from rewardlab.sampling import Sampler

    base, tok = load_causal_lm(str(tiny_model))
    copy = Sampler.inference_copy(base, lora=True, dtype="float32")
    policy = make_policy(base, LoraConfig(r=4))
    sampler = Sampler(policy, copy)
    assert len(sampler.merged) == 2 * 7  # 2 layers x 7 linear projections
    ids = tok(["the cat sat on the mat"], return_tensors="pt").input_ids
    with torch.no_grad():
        ref_before = policy(ids).logits.clone()
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.add_(0.1 * torch.randn_like(p))
        sampler.refresh()
        assert torch.allclose(copy(ids).logits, policy(ids).logits, atol=1e-5)
        assert not torch.allclose(policy(ids).logits, ref_before, atol=1e-3)
        with policy.disable_adapter():
            assert torch.equal(policy(ids).logits, ref_before)


def test_frozen_lm_head_gets_a_contiguous_input(tiny_model):
    """`logits_to_keep` slices the hidden states; load_causal_lm makes the head's input contiguous, which
    keeps CPU matmul off the path that copies the head's weight once per row (models._contiguous_input)."""
    model, tok = load_causal_lm(str(tiny_model))
    model.requires_grad_(False)
    seen = []
    model.get_output_embeddings().register_forward_pre_hook(lambda m, args: seen.append(args[0].is_contiguous()))
    ids = tok(["the cat sat on the mat", "a quiet"], return_tensors="pt", padding=True)
    with torch.no_grad():
        kept = model(**ids, logits_to_keep=2).logits
        full = model(**ids).logits
    assert seen == [True, True]
    assert torch.allclose(kept, full[:, -2:], atol=1e-5)
