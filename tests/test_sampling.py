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
    """The sampler's log-probs (used as old log-probs and for KL) match a padded full forward pass."""
    model, tok = load_causal_lm(str(tiny_model))
    torch.manual_seed(0)
    prompts = ["the cat", "a quiet morning in the village", "yes"]
    r = sample(model, tok, prompts, SamplingConfig(max_new_tokens=6, temperature=0.8))
    with torch.no_grad():
        lp, _ = token_logprobs(model, r.input_ids, r.attention_mask, r.prompt_width, 0.8)
    assert torch.allclose(lp * r.completion_mask, r.logprobs, atol=1e-4)
    assert len(r.completions) == 3 and r.completion_mask.shape == (3, r.input_ids.shape[1] - r.prompt_width)
