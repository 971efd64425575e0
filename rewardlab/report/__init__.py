"""`build_report(paths, out)`: one self-contained HTML file (plots embedded as data URIs, no network needed
to open it) plus the PNGs and the numbers behind them (fits.json, detectors.json), for any mix of RL run
directories and best-of-n directories."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from rewardlab.errors import ConfigError


@dataclass
class Source:
    """One run or best-of-n directory and everything measured on it. A measurement that cannot be made
    (too few points to fit, no embedding model) leaves its field empty and a note saying why."""

    path: Path
    label: str
    kind: str  # "rl" | "bon"
    meta: dict[str, Any]
    config: dict[str, Any]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    curves: Any = None  # GoodhartData
    bon_beirami: Any = None  # GoodhartData of a best-of-n directory against Beirami et al.'s KL
    fits: list = field(default_factory=list)
    detection: Any = None  # Detection
    answer_words: list = field(default_factory=list)  # WordStages per named token (RL runs)
    notes: list[str] = field(default_factory=list)

    def fit_for(self, reward: str):
        return next((f for f in self.fits if f.reward == reward), None)


def load_source(path: str | Path, label: str) -> Source:
    from rewardlab.measure.bon import BonDir
    from rewardlab.runs import RunDir

    path = Path(path)
    config_path = path / "config.yaml"
    config = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    if BonDir.is_bon(path):
        d = BonDir(path)
        return Source(path, label, "bon", d.meta(), config, samples=d.rows())
    if (path / "run.json").is_file():
        run = RunDir(path)
        return Source(path, label, "rl", run.meta(), config, metrics=run.metrics(), samples=run.samples())
    raise ConfigError(f"{path} is neither a run directory (run.json) nor a best-of-n directory (bon.json)")


def measure(s: Source, named_tokens: Sequence[str], embed, n_boot: int) -> None:
    """Curves, fits and (RL runs) detectors, each failure recorded as a note rather than aborting the report."""
    from rewardlab.measure.answer_words import word_stages
    from rewardlab.measure.detectors import detect
    from rewardlab.measure.fits import fit, load_curves

    if s.kind == "rl" and s.samples:
        s.answer_words = [word_stages(s.samples, w) for w in named_tokens]

    try:
        s.curves = load_curves(s.path)
        if s.kind == "bon":
            s.bon_beirami = load_curves(s.path, kl="beirami")
    except ConfigError as e:
        s.notes.append(f"no Goodhart curve: {e}")
        return
    for name in s.curves.names:
        try:
            s.fits.append(fit(s.curves, name, n_boot=n_boot))
        except ConfigError as e:
            s.notes.append(f"no fit for {name}: {e}")
    if s.kind == "rl":
        s.detection = detect(s.path, named_tokens, embed=embed or False)


def _embedder(embed: bool | Callable[[list[str]], Any], notes: list[str]):
    """The lab's sentence embedder (or the callable given), loaded once; None, with a note, when disabled
    or unavailable."""
    if callable(embed):
        return embed
    if not embed:
        notes.append("semantic-collapse detector skipped (--no-embed)")
        return None
    try:
        from rewardlab.embed import embed

        embed(["probe"])
        return embed
    except Exception as e:  # noqa: BLE001 - any failure to load the model: report without that detector
        notes.append(f"semantic-collapse detector skipped: embedding model unavailable ({e})")
        return None


def _labels(paths: Sequence[Path]) -> list[str]:
    """Directory names, made unique with their parent's name (then an index) where they collide."""
    names = [p.name for p in paths]
    labels = [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]
    return [f"{lab} [{i}]" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


def _file_stem(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "run"


def build_report(paths: Sequence[str | Path], out: str | Path | None = None, named_tokens: Sequence[str] = (),
                 embed: bool | Callable[[list[str]], Any] = True, n_boot: int = 1000) -> Path:
    """Measure every source, draw the figures, write report.html beside the PNGs; returns the HTML path.
    `embed`: True = the lab's sentence embedder for the collapse detector, False = skip it, or a callable."""
    from rewardlab.report import html, plots

    paths = [Path(p).resolve() for p in paths]
    if not paths:
        raise ConfigError("give at least one run or best-of-n directory")
    out_dir = Path(out) if out else paths[0] / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    sources = [load_source(p, lab) for p, lab in zip(paths, _labels(paths))]
    embedder = _embedder(embed, notes) if any(s.kind == "rl" for s in sources) else None
    for s in sources:
        measure(s, named_tokens, embedder, n_boot)

    figures = [
        ("goodhart", "Goodhart curves", plots.goodhart(sources, out_dir / "goodhart.png")),
        ("rewards", "Reward curves", plots.reward_curves(sources, out_dir / "rewards.png")),
        ("bon", "Best-of-n", plots.bon_curves(sources, out_dir / "bon.png")),
        ("answer-words-runs", "Answer words across runs", plots.answer_words_across(sources, out_dir / "answer-words-runs.png")),
    ]
    detector_figures = {s.label: plots.detector_traces(s, out_dir / f"detectors-{_file_stem(s.label)}.png") for s in sources}
    word_figures = {s.label: plots.answer_words(s, out_dir / f"answer-words-{_file_stem(s.label)}.png") for s in sources}

    (out_dir / "fits.json").write_text(json.dumps([dict(f.to_dict(), label=s.label) for s in sources for f in s.fits], indent=2) + "\n")
    (out_dir / "detectors.json").write_text(
        json.dumps({s.label: s.detection.to_dict() for s in sources if s.detection is not None}, indent=2) + "\n")
    (out_dir / "answer_words.json").write_text(
        json.dumps({s.label: [w.to_dict() for w in s.answer_words] for s in sources if s.answer_words}, indent=2) + "\n")
    page = html.render(sources, figures, detector_figures, word_figures, notes)
    target = out_dir / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
