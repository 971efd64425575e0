"""The report: built from real runs of a tiny model (two RL runs, one best-of-n directory), opened in headless
Chromium, with hostile model text that must show as text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from rewardlab.measure.answer_words import word_stages
from rewardlab.report import build_report
from rewardlab.report.html import script_json
from rewardlab.runs import RunDir

HOSTILE_COMPLETION = "<img src=x onerror=\"document.title='pwned'\"></script><script>document.title='pwned2'</script> & <b>bold</b>"
HOSTILE_PROMPT = "<i>the prompt</i></script><script>document.title='pwned3'</script>"


def stub_embed(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 64))
    for i, t in enumerate(texts):
        for w in t.split():
            out[i, zlib.crc32(w.encode()) % 64] += 1
    return out + 1e-6


@pytest.fixture(scope="module")
def sources(tmp_path_factory, tiny_model) -> list[Path]:
    """Two short RL runs that differ in lr and a best-of-n directory, on prompts whose held-out part
    includes markup; then one completion of the last evaluation is replaced by hostile markup."""
    from rewardlab.cli import main

    root = tmp_path_factory.mktemp("report")
    prompts = root / "prompts.txt"
    prompts.write_text("\n".join(["the cat sat on the mat", "a quiet morning", "once upon a time", "the robot sang",
                                  "the dog and the cat", "bread and coffee", HOSTILE_PROMPT, "yes no maybe so"]) + "\n")
    cfg = {
        "model": {"name": str(tiny_model)},
        "data": {"prompts": str(prompts), "num_eval_prompts": 3},
        "sampling": {"max_new_tokens": 6},
        "rewards": {"proxy": {"name": "length", "path": "rewardlab.rewards.builtin:length_reward"},
                    "gold": [{"name": "the", "path": "rewardlab.rewards.builtin:word_count", "args": {"word": "the"}}]},
        "algo": {"prompts_per_step": 2, "samples_per_prompt": 2, "lr": 0.01},
        "train": {"steps": 6, "eval_every": 2, "out_dir": str(root / "runs"), "run_name": "a", "checkpoint_every": 100},
    }
    config = root / "rl.yaml"
    config.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(config), "--no-progress"]) == 0
    assert main(["train", str(config), "train.run_name=b", "algo.lr=0.05", "--no-progress"]) == 0
    assert main(["bon", str(config), "bon.n=6", f"bon.out_dir={root / 'runs'}", "--no-progress"]) == 0
    samples = root / "runs" / "a" / "samples.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    last = max(r["step"] for r in rows)
    for r in rows:
        if r["step"] == last and r["prompt_id"] == 0:
            r["completion"] = HOSTILE_COMPLETION
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [root / "runs" / "a", root / "runs" / "b", root / "runs" / "bon-length-n6-s0"]


@pytest.fixture(scope="module")
def report(sources, tmp_path_factory) -> Path:
    return build_report(sources, tmp_path_factory.mktemp("out") / "report", named_tokens=["yes"], embed=stub_embed, n_boot=50)


def test_report_files_and_self_containment(report, sources):
    out = report.parent
    for name in ("goodhart.png", "rewards.png", "bon.png", "detectors-a.png", "detectors-b.png", "fits.json", "detectors.json",
                 "answer-words-a.png", "answer-words-b.png", "answer-words-runs.png", "answer_words.json"):
        assert (out / name).is_file(), name
    page = report.read_text()
    # nothing to fetch: every src/href is an in-page anchor or a data URI
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs and all(r.startswith(("#", "data:image/png;base64,")) for r in refs), refs
    assert page.count('<img class="plot"') == 8
    # hostile text never reaches the page unescaped, neither as HTML nor as a way out of the JSON
    assert "<img src=x" not in page and "<script>document.title" not in page and "<i>the prompt" not in page
    assert page.count("</script>") == 2  # the data element and the browser script, nothing injected
    fits = json.loads((out / "fits.json").read_text())
    assert {(f["label"], f["reward"]) for f in fits} >= {("bon-length-n6-s0", "length"), ("bon-length-n6-s0", "the")}
    assert all("r2" in f and "ci" in f and "alpha" in f for f in fits)
    detectors = json.loads((out / "detectors.json").read_text())
    assert set(detectors) == {"a", "b"} and "semantic_collapse" in detectors["a"]["onsets"]
    words = json.loads((out / "answer_words.json").read_text())
    assert set(words) == {"a", "b"} and [w["word"] for w in words["a"]] == ["yes"]
    assert words["a"][0] == word_stages(RunDir(sources[0]).samples(), "yes").to_dict()
    assert words["a"][0]["steps"] == detectors["a"]["steps"]


def test_script_json_cannot_close_its_element():
    text = script_json({"x": "</script><script>alert(1)</script> & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script> & \u2028"}


def test_single_source_report_from_the_cli_defaults_next_to_the_run(sources):
    from rewardlab.cli import main

    assert main(["report", str(sources[2]), "--no-embed", "--boot", "0"]) == 0
    page = sources[2] / "report" / "report.html"
    html = page.read_text()
    assert "One source: nothing to compare" in html and "best of 6 by proxy" in html


# ---- in a real browser ---------------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium)")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_report_in_headless_chromium(report, tmp_path):
    url = report.as_uri()
    dom = run_chromium(tmp_path, "--dump-dom", url).stdout
    assert "<title>rewardlab report: a, b, bon-length-n6-s0</title>" in dom  # no onerror/script ran
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert not re.search(r"<img[^>]*src=\"?x", dom) and "<b>bold</b>" not in dom and "<i>the prompt</i>" not in dom
    # the browser script ran and rendered the hostile text as text: escaped in the serialised DOM
    body = re.search(r'<tbody id="b-body">(.*?)</tbody>', dom, re.S).group(1)
    assert body.count("<tr>") == 3  # 3 held-out prompts, one sample each, at the last step
    assert "&lt;img src=x onerror=\"document.title='pwned'\"&gt;&lt;/script&gt;" in body
    assert "&lt;i&gt;the prompt&lt;/i&gt;&lt;/script&gt;" in body
    plots = re.findall(r'<img class="plot" alt="[^"]*" data-file="([^"]+)" src="data:image/png;base64,', dom)
    assert sorted(plots) == ["answer-words-a.png", "answer-words-b.png", "answer-words-runs.png", "bon.png", "detectors-a.png",
                                "detectors-b.png", "goodhart.png", "rewards.png"]

    # the view in the URL: first step of the best-of-n source, sorted by gold, low first
    dom = run_chromium(tmp_path, "--dump-dom", url + "#source=2&step=1&sort=a1").stdout
    assert re.search(r'<th id="b-head-now">n = 1 \(sample 0\)</th>', dom)
    body = re.search(r'<tbody id="b-body">(.*?)</tbody>', dom, re.S).group(1)
    golds = [float(v) for v in re.findall(r"· the ([0-9.]+)</span>", body)[1::2]]  # [base, now] per row: keep "now"
    assert len(golds) == 3 and golds == sorted(golds)

    shot = tmp_path / "report.png"
    run_chromium(tmp_path, "--window-size=1400,2400", f"--screenshot={shot}", url)
    from PIL import Image

    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[:2] == (2400, 1400)
    colours = {tuple(c) for c in im[::4, ::4].reshape(-1, 3)}
    assert len(colours) > 200  # plots drew: a blank or text-only page has a few dozen colours
    blue = (im[..., 2] > 150) & (im[..., 0] < 80)  # matplotlib's C0 lines and markers
    assert blue.sum() > 500
