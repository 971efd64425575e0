"""The report page: static HTML, inline CSS and JS, plots as base64 data URIs: one file that opens offline.

Escaping rules, because model text is hostile by assumption (a completion may contain markup):
- everything interpolated into HTML goes through `html.escape`;
- the sample browser's data sits in <script type="application/json"> with `<`, `>` and `&` written as
  \\u003c, \\u003e, \\u0026 (and U+2028/9 escaped), so "</script>" inside a completion cannot end the element;
- the browser script builds every cell with `textContent`, never `innerHTML`.
"""

from __future__ import annotations

import base64
import html
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from rewardlab import __version__


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def script_json(obj: Any) -> str:
    """JSON that is inert inside a <script> element whatever strings it holds."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="plot" alt="{esc(alt)}" data-file="{esc(path.name)}" src="data:image/png;base64,{data}">'


def num(x: float, fmt: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return format(x, fmt)


def table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Cells are HTML already (callers escape text); headers are escaped here."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# ---- sections --------------------------------------------------------------------------------------


def sources_section(sources) -> str:
    rows = []
    for s in sources:
        if s.curves is None:
            extent = prompts = "—"
        else:
            x = s.curves.x
            extent = f"{len(x)} eval steps ({x[0]}–{x[-1]})" if s.kind == "rl" else f"n = 1…{x[-1]}"
            prompts = str(s.curves.kl.shape[0])
        rows.append([esc(s.label), esc(s.kind), f"<code>{esc(s.path)}</code>", esc(s.meta.get("optimised", "")),
                     esc(", ".join(s.meta.get("gold", []))), esc(extent), prompts])
    return table(["source", "kind", "path", "proxy (optimised)", "gold (watched)", "extent", "prompts"], rows)


def ci(f, key: str) -> str:
    lo, hi = f.ci.get(key, (math.nan, math.nan))
    return f'<span class="ci">[{num(lo)}, {num(hi)}]</span>' if not (math.isnan(lo) and math.isnan(hi)) else ""


def fits_section(sources) -> str:
    rows = []
    for s in sources:
        for f in s.fits:
            role = "proxy" if f.reward == s.meta.get("optimised") else "gold"
            peak = num(f.d_star) + ci(f, "d_star") + (' <span class="warn">beyond the data</span>' if f.extrapolated else "")
            at_peak = num(f.baseline + f.r_star) if math.isfinite(f.r_star) else "— (no peak)"
            rows.append([
                esc(s.label), f"{esc(f.reward)} <small>({role})</small>", esc(f.formula),
                num(f.alpha) + ci(f, "alpha"), num(f.beta) + ci(f, "beta"), peak,
                num(f.d_star**2) if math.isfinite(f.d_star) else "∞", num(f.r_star) + ci(f, "r_star"), at_peak,
                num(f.baseline), num(f.r2, ".3f"), num(f.rmse), str(f.n_points),
                f"{f.n_boot}" + (f", {f.peak_share:.0%} with a peak" if f.n_boot else ""),
            ])
    if not rows:
        return "<p>No fits (see the notes).</p>"
    return table(["source", "reward", "form", "α", "β", "peak d*", "KL* (nats)", "R* (centred)", "reward at peak",
                  "initial", "R²", "RMSE", "points", "bootstrap"], rows, "num")


def detectors_section(sources, detector_figures: dict[str, Path | None]) -> str:
    parts = []
    for s in sources:
        if s.detection is None:
            continue
        det = s.detection
        rows = []
        for d in det.detectors:
            onset = det.onsets[d.name]
            if onset is None:
                relation = "silent"
            else:
                rel = [f"{'before' if onset < g else 'after' if onset > g else 'at'} the {esc(name)} peak (step {g})"
                       for name, g in det.gold_peak_step.items()]
                relation = "; ".join(rel) or "no gold reward to compare"
            rows.append([esc(d.name), esc(d.about), f"{'<' if d.fires_below else '>'} {num(d.threshold)}",
                         num(det.traces[d.name][0]), num(det.traces[d.name][-1]),
                         f'<b class="fire">step {onset}</b>' if onset is not None else "—", relation])
        fig = detector_figures.get(s.label)
        parts.append(f"<h3>{esc(s.label)}</h3>" + (img(fig, f"detector traces of {s.label}") if fig else "")
                     + table(["detector", "statistic", "fires when", "first step", "last step", "onset", "vs gold peak"], rows))
    return "".join(parts) or "<p>No RL runs: detectors read the evaluation samples of RL runs.</p>"


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        out = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tree}


def config_section(sources) -> str:
    flat = [_flatten(s.config) for s in sources]
    keys = list(dict.fromkeys(k for f in flat for k in f))

    def value(f: dict, k: str) -> str | None:
        return json.dumps(f[k], default=str, sort_keys=True) if k in f else None

    differ = [k for k in keys if len({value(f, k) for f in flat}) > 1]
    if len(sources) == 1:
        diff = "<p>One source: nothing to compare.</p>"
    elif not differ:
        diff = "<p>The configs are identical.</p>"
    else:
        rows = [[f"<code>{esc(k)}</code>"] + [esc(value(f, k)) if k in f else "<i>absent</i>" for f in flat] for k in differ]
        diff = table(["key", *[s.label for s in sources]], rows)
    full = "".join(f"<details><summary>{esc(s.label)}: full config</summary><pre>{esc(yaml.safe_dump(s.config, sort_keys=False))}</pre></details>"
                   for s in sources)
    return diff + full


def browser_data(sources) -> dict:
    """Per source: reward names, the selectable steps and rows [step, prompt_id, completion, [rewards]].
    A best-of-n directory offers two "steps": sample 0 of each prompt (a draw at n = 1) and the proxy-best
    of all N."""
    runs = []
    for s in sources:
        if not s.samples:
            continue
        names = [s.meta["optimised"], *[g for g in s.meta.get("gold", []) if g != s.meta["optimised"]]]

        def row(step: int, r: dict) -> list:
            return [step, r["prompt_id"], r["completion"], [r["rewards"].get(n) for n in names]]

        if s.kind == "rl":
            steps = sorted({r["step"] for r in s.samples})
            rows = [row(r["step"], r) for r in s.samples]
            labels = {str(st): f"step {st}" for st in steps}
        else:
            by_prompt: dict[int, list[dict]] = {}
            for r in s.samples:
                by_prompt.setdefault(r["prompt_id"], []).append(r)
            N = max(len(v) for v in by_prompt.values())
            rows = []
            for pool in by_prompt.values():
                scored = [r for r in pool if r["rewards"].get(names[0]) is not None]
                rows.append(row(1, min(pool, key=lambda r: r["index"])))
                if scored:
                    rows.append(row(N, max(scored, key=lambda r: (r["rewards"][names[0]], -r["index"]))))
            steps, labels = [1, N], {"1": "n = 1 (sample 0)", str(N): f"best of {N} by proxy"}
        prompts = {r["prompt_id"]: r["prompt"] for r in s.samples}
        runs.append({"label": s.label, "kind": s.kind, "rewards": names, "steps": steps, "step_labels": labels,
                     "prompts": sorted(prompts.items()), "rows": rows})
    return {"runs": runs}


# ---- page ------------------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1400px;padding:0 24px 64px;color:#1d1d1f}
h1{margin:24px 0 4px}h2{margin-top:40px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:14px}.meta{color:#666}
table{border-collapse:collapse;margin:10px 0;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f5f5f7}.ci{color:#777;font-size:11px;display:block;white-space:nowrap}
.warn{color:#b45309;font-size:11px}.fire{color:#b91c1c}
img.plot{max-width:100%;display:block;margin:8px 0;border:1px solid #eee}
.notes li{color:#92400e}
pre{background:#f7f7f9;padding:8px;overflow:auto;font-size:12px}
#browser .controls{display:flex;gap:14px;flex-wrap:wrap;align-items:center;margin:8px 0}
#browser td.text{white-space:pre-wrap;word-break:break-word;max-width:520px;font-family:ui-monospace,Menlo,monospace;font-size:12px}
#browser td.prompt{max-width:260px;white-space:pre-wrap;word-break:break-word}
.scores{display:block;color:#555;font-family:system-ui,sans-serif;font-size:11px;margin-top:4px}
"""

JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("browser-data").textContent);
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function option(sel, value, text) { var o = el("option", text); o.value = String(value); sel.appendChild(o); }
  function fmt(v) { return v === null || v === undefined ? "—" : Number(v).toPrecision(3); }
  var runSel = $("b-run"), stepSel = $("b-step"), sortSel = $("b-sort"), filter = $("b-filter");
  if (!data.runs.length) { $("b-count").textContent = "no samples"; return; }
  data.runs.forEach(function (r, i) { option(runSel, i, r.label + " (" + r.kind + ")"); });

  function completionCell(run, row) {
    var td = el("td", row ? row[2] : "(none)", "text");
    if (row) {
      td.appendChild(el("span", run.rewards.map(function (n, j) { return n + " " + fmt(row[3][j]); }).join(" · "), "scores"));
    }
    return td;
  }
  function render() {
    var run = data.runs[Number(runSel.value)], k = Number(stepSel.value), first = run.steps[0];
    var prompts = new Map(run.prompts), base = new Map(), now = new Map();
    function push(m, key, row) { if (!m.has(key)) m.set(key, []); m.get(key).push(row); }
    run.rows.forEach(function (row) {
      if (row[0] === first) push(base, row[1], row);
      if (row[0] === k) push(now, row[1], row);
    });
    var pairs = [];
    now.forEach(function (rows, pid) {
      rows.forEach(function (row, j) { pairs.push({ pid: pid, now: row, base: (base.get(pid) || [])[j] }); });
    });
    var q = filter.value.toLowerCase();
    if (q) pairs = pairs.filter(function (p) {
      return [prompts.get(p.pid), p.now[2], p.base ? p.base[2] : ""].join("\\n").toLowerCase().indexOf(q) >= 0;
    });
    var s = sortSel.value;
    if (s !== "prompt") {
      var j = Number(s.slice(1)), sign = s[0] === "d" ? -1 : 1;
      pairs.sort(function (a, b) {
        var x = a.now[3][j], y = b.now[3][j];
        if (x === null) return y === null ? 0 : 1;
        if (y === null) return -1;
        return sign * (x - y);
      });
    }
    $("b-head-base").textContent = run.step_labels[String(first)];
    $("b-head-now").textContent = run.step_labels[String(k)];
    var body = $("b-body");
    body.replaceChildren();
    pairs.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", p.pid));
      tr.appendChild(el("td", prompts.get(p.pid), "prompt"));
      tr.appendChild(completionCell(run, p.base));
      tr.appendChild(completionCell(run, p.now));
      body.appendChild(tr);
    });
    $("b-count").textContent = pairs.length + " samples";
  }
  function fillRun() {
    var run = data.runs[Number(runSel.value)];
    stepSel.replaceChildren();
    sortSel.replaceChildren();
    run.steps.forEach(function (st) { option(stepSel, st, run.step_labels[String(st)]); });
    stepSel.value = String(run.steps[run.steps.length - 1]);
    option(sortSel, "prompt", "prompt order");
    run.rewards.forEach(function (n, j) {
      option(sortSel, "d" + j, n + " at the chosen step, high first");
      option(sortSel, "a" + j, n + " at the chosen step, low first");
    });
    render();
  }
  // The view lives in the URL hash (#source=0&step=10&sort=d1&q=word): links reopen the same view.
  function saveView() {
    var h = new URLSearchParams({ source: runSel.value, step: stepSel.value, sort: sortSel.value, q: filter.value });
    try { history.replaceState(null, "", "#" + h.toString()); } catch (e) { /* some file:// contexts refuse */ }
  }
  function restoreView() {
    var h = new URLSearchParams(location.hash.slice(1));
    function set(sel, v) { if (v !== null && Array.prototype.some.call(sel.options, function (o) { return o.value === v; })) sel.value = v; }
    set(runSel, h.get("source"));
    fillRun();
    set(stepSel, h.get("step"));
    set(sortSel, h.get("sort"));
    if (h.get("q")) filter.value = h.get("q");
    render();
  }
  runSel.addEventListener("change", function () { fillRun(); saveView(); });
  [stepSel, sortSel].forEach(function (x) { x.addEventListener("change", function () { render(); saveView(); }); });
  filter.addEventListener("input", function () { render(); saveView(); });
  restoreView();
})();
"""

BROWSER = """
<div id="browser">
  <div class="controls">
    <label>source <select id="b-run"></select></label>
    <label>step <select id="b-step"></select></label>
    <label>sort <select id="b-sort"></select></label>
    <label>filter <input id="b-filter" type="search" placeholder="text in prompt or completion"></label>
    <span id="b-count" class="meta"></span>
  </div>
  <table><thead><tr><th>prompt id</th><th>prompt</th><th id="b-head-base">first step</th><th id="b-head-now">chosen step</th></tr></thead>
  <tbody id="b-body"></tbody></table>
</div>
"""

METHOD = """
<p class="meta">Each point is a mean over the held-out evaluation prompts. x: d = √KL, the sequence KL (nats) of the
evaluation samples themselves (RL), or log n − (n−1)/n (best-of-n, filled markers; hollow markers: Beirami et al.'s
tighter estimate). y: reward minus its value at the initial policy. Lines: least-squares fits of Gao et al.'s forms,
best-of-n d(α − βd) and RL d(α − β log d); intervals are 95% percentile bootstraps over prompts. Best-of-n values
are exact averages over all n-subsets of the N samples per prompt, not single draws.</p>
"""


def answer_words_section(sources, word_figures: dict[str, Path | None]) -> str:
    """Per RL run: the stage figure and a table of the first and last evaluation step's shares."""
    parts = []
    for s in sources:
        if not s.answer_words:
            continue
        rows = [[esc(w.word), esc(stage), num(getattr(w, stage)[0]), num(getattr(w, stage)[-1])]
                for w in s.answer_words for stage in ("starts", "repeated", "spam", "per_completion")]
        fig = word_figures.get(s.label)
        parts.append(f"<h3>{esc(s.label)}</h3>" + (img(fig, f"answer words of {s.label}") if fig else "")
                     + table(["word", "stage", f"step {s.answer_words[0].steps[0]}", f"step {s.answer_words[0].steps[-1]}"], rows, "num"))
    return "".join(parts)


ANSWER_WORDS = """<p>Stages of seed 003's yes-spammer, per answer word: completions that start with the word,
that hold it twice or more, that are mostly the word (three times or more and more than half of their
words), and its count per completion; words are lower-cased, with camel-case joins split ("YesYes" is two
"yes"). The right panel shows every reward at the same evaluation steps.</p>
"""


def render(sources, figures: list[tuple[str, str, Path | None]], detector_figures: dict[str, Path | None],
           word_figures: dict[str, Path | None], notes: list[str]) -> str:
    sections: list[tuple[str, str, str]] = [("sources", "Sources", sources_section(sources))]
    figs = {key: (title, path) for key, title, path in figures}
    words = answer_words_section(sources, word_figures)
    if figs["answer-words-runs"][1]:
        words = img(figs["answer-words-runs"][1], "answer words across runs") + words
    if words:
        sections.append(("answer-words", "Answer words (the yes-spammer's stages)", words + ANSWER_WORDS))
    if figs["goodhart"][1]:
        sections.append(("goodhart", "Goodhart curves", img(figs["goodhart"][1], "Goodhart curves") + METHOD
                         + "<h3>Fitted parameters</h3>" + fits_section(sources)))
    if figs["rewards"][1]:
        sections.append(("rewards", "Reward curves", img(figs["rewards"][1], "reward curves")))
    if figs["bon"][1]:
        sections.append(("bon", "Best-of-n", img(figs["bon"][1], "best-of-n curves")))
    sections.append(("detectors", "Hack detectors", detectors_section(sources, detector_figures)))
    sections.append(("config", "Config", config_section(sources)))
    sections.append(("samples", "Sample browser", BROWSER))
    all_notes = notes + [f"{s.label}: {n}" for s in sources for n in s.notes]
    notes_html = ('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in all_notes) + "</ul>") if all_notes else ""
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{content}</section>' for key, title, content in sections)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = "rewardlab report: " + ", ".join(s.label for s in sources)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<p class="meta">rewardlab {esc(__version__)} · {esc(created)}</p>
<nav>{nav}</nav>
{notes_html}
{body}
<script type="application/json" id="browser-data">{script_json(browser_data(sources))}</script>
<script>{JS}</script>
</body></html>
"""
