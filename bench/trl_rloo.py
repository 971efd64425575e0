"""Seconds per RL step of Hugging Face TRL's RLOOTrainer on the work of rewardlab's speed benchmark.

Measures wall time per optimizer step (time between consecutive `on_step_end` callbacks) of
`trl.RLOOTrainer` doing, per step: 4 prompts x 4 sampled completions (16 completions), at most 16 new
tokens, temperature 1.0, no top-k/top-p, no chat template; LoRA r=16, alpha=32, dropout 0 on all linear
layers; no gradient checkpointing (TRL's default is on; `--grad-ckpt` keeps it); leave-one-out baseline;
one AdamW step per batch of 16 (lr 2e-3, constant, grad clip 1.0); KL coefficient beta=0.02 to the base
model (adapters disabled); reward = `rewardlab.rewards.builtin:length_reward` (words / 10). No
evaluation, no saving, no logging backend. The first `--skip` steps are excluded from the median. Also
prints where the time went (generation, no-grad log-prob passes, reward, rest = loss forward/backward +
optimizer).

TRL 1.16 semantics used here (read from trl/trainer/rloo_config.py and rloo_trainer.py):
per_device_train_batch_size counts completions, so 16 with num_generations=4 and
gradient_accumulation_steps=1 gives steps_per_generation=1 and generation_batch_size=16 = 4 prompts x
4 completions per optimizer step; num_iterations=1 uses each generation batch once. RLOOTrainer folds
a k1 sequence KL (beta * sum of logp - ref_logp) into the reward, like rewardlab's
`algo.kl_mode=reward`.

This must run in a venv with TRL, not in rewardlab's own venv, e.g.:

    python3 -m venv /tmp/trl-venv
    /tmp/trl-venv/bin/pip install torch==2.13.0
    /tmp/trl-venv/bin/pip install transformers==5.23.0 peft==0.21.2 accelerate==1.15.0 trl==1.16.0 \
        datasets pydantic pyyaml safetensors tqdm rich numpy gguf
    # prompts: the first 200 builtin tweet prefixes, dumped with rewardlab's venv
    .venv/bin/python -c "import json; from rewardlab.data import load_prompt_source; \
        json.dump(list(load_prompt_source('builtin:tweets')[:200]), open('/tmp/bench/tweets200.json', 'w'))"
    PYTHONPATH=. /tmp/trl-venv/bin/python bench/trl_rloo.py --prompts /tmp/bench/tweets200.json [--bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(Path.home() / ".cache/rewardlab/models/smollm2-135m-instruct"))
    ap.add_argument("--prompts", default="/tmp/bench/tweets200.json", help="JSON list of prompt strings")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--skip", type=int, default=2, help="steps excluded from the median (warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="TrainingArguments bf16=True (autocast)")
    ap.add_argument("--grad-ckpt", action="store_true",
                    help="keep TRL's default gradient_checkpointing=True (rewardlab recomputes nothing; off by default)")
    ap.add_argument("--out", default="/tmp/trl-bench-out")
    ap.add_argument("--json", default=None, help="write per-step times and rewards here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import RLOOConfig, RLOOTrainer

    from rewardlab.rewards.builtin import length_reward

    prompts = json.loads(Path(args.prompts).read_text())
    # rewardlab holds out the last 16 prompts for evaluation and trains on the rest; do the same
    dataset = Dataset.from_dict({"prompt": prompts[:-16]})

    step_rewards: list[float] = []

    def length(prompts, completions, **kwargs):
        r = length_reward(prompts, completions)
        step_rewards.append(sum(r) / len(r))
        return r

    cfg = RLOOConfig(
        output_dir=args.out,
        per_device_train_batch_size=16,  # completions per device per step
        gradient_accumulation_steps=1,
        num_generations=4,
        num_iterations=1,
        max_completion_length=16,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        learning_rate=2e-3,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        optim="adamw_torch",
        max_grad_norm=1.0,
        beta=0.02,
        max_steps=args.steps,
        save_strategy="no",
        eval_strategy="no",
        logging_steps=10_000,
        report_to="none",
        bf16=args.bf16,  # TRL's own default is bf16=True; set explicitly
        gradient_checkpointing=args.grad_ckpt,  # TRL's own default is True
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    assert cfg.steps_per_generation == 1 and cfg.generation_batch_size == 16, (
        cfg.steps_per_generation, cfg.generation_batch_size)
    peft = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.marks: list[float] = []

        def on_step_begin(self, args_, state, control, **kw):
            if not self.marks:
                self.marks.append(time.perf_counter())  # start of step 0

        def on_step_end(self, args_, state, control, **kw):
            self.marks.append(time.perf_counter())

    timer = StepTimer()
    trainer = RLOOTrainer(model=args.model, reward_funcs=length, args=cfg, train_dataset=dataset,
                          peft_config=peft, callbacks=[timer])

    # where the time goes: wrap a few trainer methods with accumulating timers (per step)
    phases: dict[str, list[float]] = {"generate": [], "logp_nograd": [], "reward": []}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            out = fn(*a, **kw)
            if name != "logp_nograd" or not torch.is_grad_enabled():
                phases[name].append(time.perf_counter() - t)
            return out
        return wrapper

    trainer._generate_single_turn = timed("generate", trainer._generate_single_turn)
    trainer._get_per_token_logps_and_entropies = timed("logp_nograd", trainer._get_per_token_logps_and_entropies)
    trainer._calculate_rewards = timed("reward", trainer._calculate_rewards)

    trainer.train()

    step_s = [b - a for a, b in zip(timer.marks, timer.marks[1:])]
    timed_steps = step_s[args.skip:]
    med = statistics.median(timed_steps)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} bf16={args.bf16} grad_ckpt={args.grad_ckpt}")
    print("step_s:", " ".join(f"{s:.2f}" for s in step_s))
    print("mean length reward per step:", " ".join(f"{r:.2f}" for r in step_rewards))
    gen = phases["generate"]
    ng = [sum(phases["logp_nograd"][2 * i: 2 * i + 2]) for i in range(len(gen))]  # old + ref passes
    sl = slice(args.skip, None)
    rest = [s - g - n - r for s, g, n, r in zip(step_s, gen, ng, phases["reward"])]
    print(f"median over steps {args.skip}..{len(step_s) - 1}: step {med:.2f} s | generate "
          f"{statistics.median(gen[sl]):.2f} | old+ref logp {statistics.median(ng[sl]):.2f} | reward "
          f"{statistics.median(phases['reward'][sl]):.3f} | loss fwd/bwd+optim+overhead {statistics.median(rest[sl]):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"step_s": step_s, "median_s": med, "rewards": step_rewards,
                                               "phases": phases, "bf16": args.bf16,
                                               "grad_ckpt": args.grad_ckpt}, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
