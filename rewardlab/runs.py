"""Run directories: self-describing, append-only logs, atomic checkpoints, exact resume.

Layout of a run directory:
  config.yaml        the resolved config (every default filled in)
  run.json           what is optimised and what is only watched, versions, start time
  metrics.jsonl      one JSON object per step, namespaced keys (docs/metrics.md)
  samples.jsonl      evaluation samples: prompt, completion, every reward, per-sample KL
  checkpoints/step_XXXXXX/  trainable weights (safetensors), optimizer, RNG states, state.json
  adapter/ or model/ the final weights in Hugging Face / PEFT format

Crash safety: a checkpoint is written to a temp dir and renamed into place, so it exists whole or not
at all. Log lines are written with one write() each; on resume, lines from steps at or after the
checkpoint (and any torn last line) are cut, so the resumed log equals an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

CHECKPOINTS = "checkpoints"


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def build_dir_once(path: Path, build: Callable[[Path], Any]) -> Path:
    """`path`, made by `build(tmp)` into a temporary sibling and renamed into place, unless it is there
    already (it holds meta.json): a crash mid-build leaves nothing that looks finished."""
    if not (path / "meta.json").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
        try:
            build(tmp)
            tmp.replace(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield parsed lines, skipping a torn last line left by a crash."""
    if not path.is_file():
        return
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- files ---------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    def create(self, config_yaml: str, meta: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, config_yaml)
        atomic_write_text(self.path / "run.json", json.dumps(meta, indent=2) + "\n")

    def meta(self) -> dict[str, Any]:
        return json.loads((self.path / "run.json").read_text())

    def _append(self, path: Path, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows).encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def log_metrics(self, row: dict[str, Any]) -> None:
        self._append(self.metrics_path, [row])

    def log_samples(self, rows: list[dict[str, Any]]) -> None:
        self._append(self.samples_path, rows)

    def metrics(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.metrics_path))

    def samples(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.samples_path))

    def truncate_logs(self, from_step: int) -> None:
        """Drop log rows of steps >= from_step (and torn lines): they will be written again."""
        for path in (self.metrics_path, self.samples_path):
            rows = [r for r in read_jsonl(path) if r.get("step", -1) < from_step]
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))

    # --- checkpoints ---------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        root = self.path / CHECKPOINTS
        return sorted(p for p in root.glob("step_*") if p.is_dir()) if root.is_dir() else []

    def save_checkpoint(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, keep: int) -> Path:
        """Save trainable weights, optimizer and RNG states as the state *before* `step` runs."""
        from safetensors.torch import save_file

        root = self.path / CHECKPOINTS
        root.mkdir(parents=True, exist_ok=True)
        final = root / f"step_{step:06d}"
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
        weights = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
        save_file(weights, tmp / "weights.safetensors")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(
            {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
             "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
            tmp / "rng.pt",
        )
        (tmp / "state.json").write_text(json.dumps({"step": step}))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in self.checkpoints()[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load_checkpoint(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
        """Restore the newest checkpoint; returns the step to run next (0 if there is none)."""
        from safetensors.torch import load_file

        ckpts = self.checkpoints()
        if not ckpts:
            return 0
        ckpt = ckpts[-1]
        weights = load_file(ckpt / "weights.safetensors")
        params = dict(model.named_parameters())
        missing = set(weights) ^ {n for n, p in params.items() if p.requires_grad}
        if missing:
            raise RuntimeError(f"checkpoint {ckpt} does not match the model: {sorted(missing)[:5]}")
        with torch.no_grad():
            for n, w in weights.items():
                params[n].copy_(w)
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        rng = torch.load(ckpt / "rng.pt", weights_only=False)
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return json.loads((ckpt / "state.json").read_text())["step"]
