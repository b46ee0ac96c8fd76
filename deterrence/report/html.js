"use strict";
// The page of `deterrence report RESULT --html`: every number comes from the JSON in #data
// (deterrence.report.html.payload).
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const COLORS = { a: "#c0392b", b: "#1f6fb5", base: "#555555", other: "#9aa4b1" };
const state = { a: 0, b: D.baseline === null ? 0 : D.baseline };
const yearsShown = D.valid_years.length ? D.valid_years : D.years;
// The headline effect (days at war), else the first paired difference the result holds.
const EFFECT = D.readings.find((r) => r.var === (D.effects ? D.effects.var : "diff_mean_war_days")) ||
  D.readings.find((r) => r.diff);
const DEFAULT_YEAR = yearsShown.includes(2) ? 2 : yearsShown[yearsShown.length - 1];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// ------------------------------------------------------------------ numbers in words

function yearIndex(r, y) { return r.yearly ? D.years.indexOf(y) : 0; }
function at(r, field, k, y) {
  const column = r[field];
  return column === null ? null : column[yearIndex(r, y)][k];
}
function num(v, digits) { return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }); }
function unit(r) { return r.percent ? (r.diff ? " pp" : "%") : (r.unit === "1" ? "" : " " + r.unit); }
function digits(r, v) { return r.percent ? 1 : (Math.abs(v) >= 100 ? 0 : 2); }
function scaled(r, v) { return r.percent ? 100 * v : v; }
function value(r, v) {
  if (v === null) return "–";
  const s = scaled(r, v);
  return (r.diff && s > 0 ? "+" : "") + num(s, digits(r, s)) + unit(r);
}
function interval(r, lo, hi) {
  if (lo === null || hi === null) return "n/a";
  const d = Math.max(digits(r, scaled(r, lo)), digits(r, scaled(r, hi)));
  return "[" + num(scaled(r, lo), d) + ", " + num(scaled(r, hi), d) + "]";
}
function noise(r, se) {
  if (se === null) return "–";
  const s = scaled(r, se);
  return "±" + num(s, r.percent || Math.abs(s) < 10 ? 2 : Math.abs(s) < 100 ? 1 : 0);
}
function heading(r, y) { return r.heading.replace("{years}", y); }
function reading(r, k, y) {
  return { v: at(r, "value", k, y), se: at(r, "se", k, y), lo: at(r, "low", k, y), hi: at(r, "high", k, y) };
}
function inWords(r, k, y) {
  const x = reading(r, k, y);
  if (x.v === null) return "–";
  return value(r, x.v) + (r.low === null ? "" : " " + interval(r, x.lo, x.hi)) + " " + noise(r, x.se);
}
function label(k) { return D.options[k].label; }
function pct(v) { return v === null ? "–" : num(100 * v, 0) + "%"; }

// ------------------------------------------------------------------ option pickers

function levelIndex(k) {
  const found = [];
  for (let i = D.axes.length - 1; i >= 0; i--) {
    const n = D.axes[i].levels.length;
    found[i] = k % n;
    k = Math.floor(k / n);
  }
  return found;
}
function optionIndex(picked) { return picked.reduce((k, j, i) => k * D.axes[i].levels.length + j, 0); }

function pickers(which, box) {
  D.axes.forEach((axis, i) => {
    const s = el("select", { id: `pick-${which}-${axis.name}`, "data-axis": axis.name });
    axis.levels.forEach((level, j) => s.append(el("option", { value: j }, level.label)));
    s.addEventListener("change", () => {
      const picked = D.axes.map((_, m) => Number($(`pick-${which}-${D.axes[m].name}`).value));
      choose(which, optionIndex(picked));
    });
    box.append(el("label", {}, axis.words + " ", s));
    if (axis.levels.length === 1) s.disabled = true;
  });
}

function choose(which, k) {
  state[which] = k;
  levelIndex(k).forEach((j, i) => { $(`pick-${which}-${D.axes[i].name}`).value = j; });
  render();
}

// ------------------------------------------------------------------ the explorer and the pair

function effectWords(k) {
  if (!EFFECT) return "This result holds no paired effect against the baseline.";
  const y = D.effects && D.effects.year !== null ? D.effects.year : DEFAULT_YEAR;
  const x = reading(EFFECT, k, y);
  let text = `${heading(EFFECT, y)}: ${value(EFFECT, x.v)}`;
  text += EFFECT.low === null ? ` (90% parameter interval: n/a, ${D.not_nested})`
    : `, 90% parameter interval ${interval(EFFECT, x.lo, x.hi)}`;
  text += `; simulation noise (MC SE) ${noise(EFFECT, x.se)}${unit(EFFECT)}`;
  if (k === D.baseline) return text + " (this is the baseline)";
  if (D.effects) {
    text += `; p_better on the ${D.effects.words}: ${pct(D.effects.p_better[k])} of the ` +
      `parameter draws give it a lower value than the baseline (simulation noise ±${num(100 * D.effects.p_better_se[k], 1)})`;
  } else if (D.effects_missing) {
    text += `; p_better: n/a (${D.effects_missing})`;
  }
  const deciding = D.effects ? D.effects.deciding[k] : [];
  if (deciding.length) text += "; deciding assumptions (first-order index): " + deciding.map(([p, v]) => `${p} ${v.toFixed(2)}`).join(", ");
  return text + ".";
}

function explorer() {
  const k = state.a;
  $("a-title").textContent = `Option A: ${label(k)}: every outcome at ${yearsShown.join(", ")} years`;
  $("a-effect").textContent = effectWords(k);
  const yearly = $("a-yearly");
  yearly.replaceChildren();
  const top = el("tr", {}, el("th", { rowspan: 2 }, "outcome"));
  const sub = el("tr", {});
  for (const y of yearsShown) {
    top.append(el("th", { colspan: 3 }, `within ${y} year${y > 1 ? "s" : ""}`));
    sub.append(el("th", {}, "estimate"), el("th", {}, "90% parameter interval"), el("th", {}, "MC SE (noise)"));
  }
  yearly.append(top, sub);
  const totals = $("a-totals");
  totals.replaceChildren(el("tr", {}, el("th", {}, "outcome"), el("th", {}, "estimate"),
    el("th", {}, "90% parameter interval"), el("th", {}, "MC SE (noise)")));
  for (const r of D.readings) {
    const row = el("tr", { title: r.long_name }, el("td", {}, r.yearly ? heading(r, "N") : heading(r, "")));
    for (const y of r.yearly ? yearsShown : [null]) {
      const x = reading(r, k, y);
      const id = `a-${r.var}-${y === null ? "all" : y}`;
      row.append(el("td", { id: id + "-v" }, value(r, x.v)),
        el("td", { id: id + "-i" }, r.low === null ? "n/a" : (x.v === null ? "–" : interval(r, x.lo, x.hi))),
        el("td", { id: id + "-s" }, noise(r, x.se)));
    }
    (r.yearly ? yearly : totals).append(row);
  }
}

function pair() {
  const { a, b } = state;
  const y = Number($("pair-year").value);
  $("pair-a-words").textContent = label(a);
  const isBase = b === D.baseline;
  const table = $("pair-table");
  table.replaceChildren(el("tr", {}, el("th", {}, `outcome (at ${y} years)`), el("th", { class: "a" }, "A"),
    el("th", { class: "b" }, "B"), el("th", {}, "A − B"), el("th", {}, "A vs baseline (paired)"),
    el("th", {}, "B vs baseline (paired)")));
  for (const r of D.readings.filter((r) => !r.diff)) {
    const d = D.readings.find((s) => s.var === "diff_" + r.var);
    const va = at(r, "value", a, y), vb = at(r, "value", b, y);
    let amb = va === null || vb === null ? "–" : value({ ...r, diff: true }, va - vb);
    if (isBase && d) amb = inWords(d, a, y);
    table.append(el("tr", { id: `pair-${r.var}` }, el("td", {}, heading(r, y)),
      el("td", { id: `pair-${r.var}-a` }, inWords(r, a, y)), el("td", { id: `pair-${r.var}-b` }, inWords(r, b, y)),
      el("td", { id: `pair-${r.var}-amb` }, amb),
      el("td", {}, d ? inWords(d, a, y) : "not tallied"), el("td", {}, d ? inWords(d, b, y) : "not tallied")));
  }
  let better = "";
  if (D.effects) {
    const e = D.effects;
    better = `p_better on the ${e.words}, the share of parameter draws under which the ` +
      `option's value is below the baseline's: A ${a === D.baseline ? "– (the baseline)" : pct(e.p_better[a])}, ` +
      `B ${b === D.baseline ? "– (the baseline)" : pct(e.p_better[b])}.`;
  } else {
    better = `p_better: n/a (${D.effects_missing}).`;
  }
  if (EFFECT && !isBase) {
    const ea = at(EFFECT, "value", a, DEFAULT_YEAR), eb = at(EFFECT, "value", b, DEFAULT_YEAR);
    if (ea !== null && eb !== null) {
      better += ` Difference of their effects vs baseline on ${heading(EFFECT, DEFAULT_YEAR).replace("Δ ", "")}: ` +
        `A − B = ${value(EFFECT, ea - eb)} (no interval: see below).`;
    }
  }
  $("pair-better").textContent = better;
  const spec = (k) => D.axes.map((axis, i) => `${axis.name}=${D.axes[i].levels[levelIndex(k)[i]].value}`).join(",");
  $("pair-note").textContent = (isBase
    ? "B is the baseline: A − B is A's paired effect against it, with its 90% parameter interval and its " +
      "simulation noise. "
    : "A − B is the difference of the two estimates, which equals the difference of their paired effects " +
      "against the baseline (every option is run on the same runs). The result holds each option's paired " +
      "tallies against the baseline only: the 90% parameter interval, the simulation noise and p_better of " +
      "A − B itself are not in it. ") +
    `Cells: estimate [90% parameter interval] ± simulation noise (MC SE). For the exact paired A-vs-B ` +
    `interval run: deterrence compare CONFIG --a "${spec(a)}" --b "${spec(b)}"`;
}

// ------------------------------------------------------------------ charts

function readingOf(v) { return D.readings.find((r) => r.var === v); }
function errorBars(r, ks, y) {
  if (r.low === null) return undefined;
  const x = ks.map((k) => reading(r, k, y));
  return {
    type: "data", symmetric: false, thickness: 1.2, width: 2, color: "#777",
    array: x.map((p) => p.v === null || p.hi === null ? null : scaled(r, Math.max(p.hi - p.v, 0))),
    arrayminus: x.map((p) => p.v === null || p.lo === null ? null : scaled(r, Math.max(p.v - p.lo, 0))),
  };
}
function hover(r, ks, y) { return ks.map((k) => `${label(k)}<br>${heading(r, y)}: ${inWords(r, k, y)}`); }
function colorOf(k) {
  return k === state.a ? COLORS.a : k === state.b ? COLORS.b : k === D.baseline ? COLORS.base : COLORS.other;
}
function bars(r) { return r.low === null ? `no error bars: ${D.not_nested}` : "bars: 90% parameter interval"; }
function units(r) { return r.percent ? (r.diff ? "percentage points" : "%") : r.unit === "1" ? "" : r.unit; }
const LAYOUT = { margin: { l: 60, r: 20, t: 60, b: 50 }, hovermode: "closest", font: { size: 11 } };
const CONFIG = { responsive: true, displaylogo: false };

function draw(id, data, layout) { Plotly.react($(id), data, { ...LAYOUT, ...layout }, CONFIG); }
function missing(id, text) { Plotly.react($(id), [], { ...LAYOUT, title: { text }, xaxis: { visible: false }, yaxis: { visible: false } }, CONFIG); }

function chartAll(r, y) {
  const ks = D.options.map((_, k) => k);
  const height = Math.max(300, 120 + 16 * ks.length);
  draw("chart-all", [{
    type: "scatter", mode: "markers", x: ks.map((k) => { const v = at(r, "value", k, y); return v === null ? null : scaled(r, v); }),
    y: ks.map(label), customdata: ks, error_x: errorBars(r, ks, y), text: hover(r, ks, y), hoverinfo: "text",
    marker: { color: ks.map(colorOf), size: ks.map((k) => (k === state.a || k === state.b ? 10 : 6)) },
  }], {
    title: { text: `${heading(r, y)}, every option (${bars(r)})` }, height,
    margin: { l: 330, r: 20, t: 60, b: 50 },
    xaxis: { title: { text: units(r) }, zeroline: true }, yaxis: { autorange: "reversed", type: "category", automargin: true },
  });
}

function chartYears(r) {
  const shown = [...new Set([state.a, state.b, D.baseline].filter((k) => k !== null))];
  const ys = r.yearly ? yearsShown : [null];
  draw("chart-years", shown.map((k) => ({
    type: "scatter", mode: "lines+markers", name: (k === state.a ? "A: " : k === state.b ? "B: " : "baseline: ") + label(k),
    x: ys.map((y) => (y === null ? "horizon" : y)), y: ys.map((y) => { const v = at(r, "value", k, y); return v === null ? null : scaled(r, v); }),
    error_y: r.low === null ? undefined : {
      type: "data", symmetric: false,
      array: ys.map((y) => { const p = reading(r, k, y); return p.v === null || p.hi === null ? null : scaled(r, Math.max(p.hi - p.v, 0)); }),
      arrayminus: ys.map((y) => { const p = reading(r, k, y); return p.v === null || p.lo === null ? null : scaled(r, Math.max(p.v - p.lo, 0)); }),
    },
    text: ys.map((y) => `${label(k)}<br>${heading(r, y === null ? "" : y)}: ${inWords(r, k, y === null ? DEFAULT_YEAR : y)}`),
    hoverinfo: "text", customdata: ys.map(() => k), line: { color: colorOf(k) },
  })), {
    title: { text: `${heading(r, "N")} over the years: A, B and the baseline (${bars(r)})` },
    xaxis: { title: { text: "years" }, type: "category" }, yaxis: { title: { text: units(r) } }, legend: { orientation: "h", y: -0.2 },
  });
}

function chartTradeoff() {
  const ex = readingOf("diff_p_reattack"), ey = readingOf("p_tripwire");
  if (!ex || !ey) return missing("chart-tradeoff", "Trade-off: the result holds no re-attack effect or tripwire risk");
  const yx = DEFAULT_YEAR, yy = yearsShown[yearsShown.length - 1];
  const ks = D.options.map((_, k) => k);
  draw("chart-tradeoff", [{
    type: "scatter", mode: "markers", customdata: ks, hoverinfo: "text",
    x: ks.map((k) => { const v = at(ex, "value", k, yx); return v === null ? null : 100 * v; }),
    y: ks.map((k) => { const v = at(ey, "value", k, yy); return v === null ? null : 100 * v; }),
    error_x: errorBars(ex, ks, yx), error_y: errorBars(ey, ks, yy),
    text: ks.map((k) => `${label(k)}<br>${heading(ex, yx)}: ${inWords(ex, k, yx)}<br>${heading(ey, yy)}: ${inWords(ey, k, yy)}`),
    marker: { color: ks.map(colorOf), size: ks.map((k) => (k === state.a || k === state.b ? 11 : 7)) },
  }], {
    title: { text: `Risk reduction against tripwire risk (${bars(ex)})` },
    xaxis: { title: { text: `${heading(ex, yx)} (pp)` } }, yaxis: { title: { text: `${heading(ey, yy)} (%)` } },
  });
}

function chartHeatmap() {
  const r = readingOf("p_reattack");
  const fi = 0, si = D.axes.findIndex((a) => a.name === "support");
  if (!r) return missing("chart-heatmap", "the result holds no re-attack risk");
  const y = DEFAULT_YEAR, base = levelIndex(state.a);
  const ks = D.axes[si].levels.map((_, j) => D.axes[fi].levels.map((_, i) => {
    const picked = [...base]; picked[fi] = i; picked[si] = j; return optionIndex(picked);
  }));
  const fixed = D.axes.filter((_, i) => i !== fi && i !== si).map((a) => `${a.words}: ${a.levels[base[D.axes.indexOf(a)]].label}`).join(", ");
  draw("chart-heatmap", [{
    type: "heatmap", colorscale: "Reds", customdata: ks,
    x: D.axes[fi].levels.map((l) => l.label), y: D.axes[si].levels.map((l) => l.label),
    z: ks.map((row) => row.map((k) => { const v = at(r, "value", k, y); return v === null ? null : 100 * v; })),
    text: ks.map((row) => row.map((k) => inWords(r, k, y))), texttemplate: "%{text}", hoverinfo: "text",
    hovertext: ks.map((row) => row.map((k) => `${label(k)}<br>${heading(r, y)}: ${inWords(r, k, y)}`)),
    colorbar: { title: { text: "%" } },
  }], {
    title: { text: `${heading(r, y)} by force size and US support<br>(${fixed}); cells: estimate [90% parameter interval] ± MC SE` },
    margin: { l: 120, r: 20, t: 80, b: 50 },
    xaxis: { title: { text: "force size" }, type: "category" }, yaxis: { type: "category", automargin: true },
  });
}

function chartLeverage() {
  const li = D.axes.findIndex((a) => a.name === "leverage"), y = DEFAULT_YEAR, base = levelIndex(state.a);
  const shown = ["p_deployed", "p_ceasefire"].map(readingOf).filter((r) => r);
  if (!shown.length) return missing("chart-leverage", "the result holds no deployment or ceasefire risk");
  const ks = D.axes[li].levels.map((_, j) => { const picked = [...base]; picked[li] = j; return optionIndex(picked); });
  draw("chart-leverage", shown.map((r) => ({
    type: "bar", name: heading(r, y), x: D.axes[li].levels.map((l) => l.label), customdata: ks,
    y: ks.map((k) => { const v = at(r, "value", k, y); return v === null ? null : 100 * v; }),
    error_y: errorBars(r, ks, y), text: hover(r, ks, y), hoverinfo: "text", textposition: "none",
  })), {
    title: { text: `Deployment and ceasefire against leverage, for option A's other levels (${bars(shown[0])})` },
    barmode: "group", yaxis: { title: { text: "%" } }, xaxis: { title: { text: "leverage" } },
    legend: { orientation: "h", y: -0.2 },
  });
}

function chartSensitivity() {
  const s = D.sensitivity;
  if (!s) return missing("chart-sensitivity", `No sensitivity indices in this result${D.nested ? "" : ": " + D.not_nested}`);
  const o = s.outcomes.indexOf($("chart-sens-outcome").value);
  const row = s.values[state.a][o];
  const order = row.map((v, i) => [v === null ? -1 : v, i]).sort((p, q) => q[0] - p[0]).slice(0, 12).filter(([v]) => v >= 0).reverse();
  draw("chart-sensitivity", [{
    type: "bar", orientation: "h", x: order.map(([v]) => v), y: order.map(([, i]) => s.parameters[i]),
    text: order.map(([v, i]) => `${s.parameters[i]}: ${s.meanings[i]}<br>first-order index ${v.toFixed(3)}`), hoverinfo: "text",
    textposition: "none", marker: { color: COLORS.a },
  }], {
    title: { text: `What decides ${s.outcomes[o]} for option A: first-order indices (share of its variance over the priors)` },
    margin: { l: 220, r: 20, t: 60, b: 50 }, xaxis: { title: { text: "first-order index" } },
  });
}

function charts() {
  const r = readingOf($("chart-reading").value);
  const y = Number($("chart-year").value);
  chartAll(r, y);
  chartYears(r);
  chartTradeoff();
  chartHeatmap();
  chartLeverage();
  chartSensitivity();
}

function render() {
  explorer();
  pair();
  charts();
}

// ------------------------------------------------------------------ what the result was made from

function made() {
  const m = D.meta;
  const words = { package_version: "package version", runs_per_draw: "runs per parameter draw",
    parameter_draws: "parameter draws", horizon_days: "horizon (days)", config_sha256: "config SHA-256" };
  for (const [k, v] of Object.entries(m.attrs)) $("meta").append(el("tr", {}, el("th", {}, words[k] || k), el("td", {}, v)));
  for (const [k, v] of Object.entries(m.model)) $("model").append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
  $("priors").append(el("tr", {}, el("th", {}, "parameter"), el("th", {}, "prior"), el("th", {}, "source")));
  for (const [name, p] of Object.entries(m.priors)) {
    const { source, ...rest } = p;
    const prior = Object.entries(rest).map(([k, v]) => `${k} ${typeof v === "number" ? Number(v.toPrecision(4)) : v}`).join(", ");
    $("priors").append(el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, prior), el("td", {}, source || "")));
  }
  $("config").textContent = m.config || "(not recorded in the result)";
}

function setup() {
  const m = D.meta.attrs;
  $("summary").textContent = `${D.options.length} options, ${Number(m.runs || 0).toLocaleString("en-US")} runs each, ` +
    `seed ${m.seed}, ${D.horizon_days}-day horizon from ${m.start_date}; baseline: ${D.baseline_words}; ` +
    `written by deterrence ${m.package_version || "?"} on ${m.created || "?"}.`;
  if (!D.nested) { $("banner").hidden = false; $("banner").textContent = `No 90% parameter intervals in this result: ${D.not_nested}. Only simulation noise (MC SE) is shown.`; }
  pickers("a", $("pick-a"));
  pickers("b", $("pick-b"));
  for (const y of yearsShown) {
    $("pair-year").append(el("option", { value: y }, y));
    $("chart-year").append(el("option", { value: y }, y));
  }
  $("pair-year").value = DEFAULT_YEAR;
  $("chart-year").value = DEFAULT_YEAR;
  for (const r of D.readings) $("chart-reading").append(el("option", { value: r.var }, heading(r, "N")));
  $("chart-reading").value = (EFFECT || D.readings[0]).var;
  if (D.sensitivity) {
    for (const o of D.sensitivity.outcomes) $("chart-sens-outcome").append(el("option", { value: o }, o));
    if (D.sensitivity.outcomes.includes("diff_reattack_2y")) $("chart-sens-outcome").value = "diff_reattack_2y";
  }
  $("pair-year").addEventListener("change", pair);
  for (const id of ["chart-reading", "chart-year", "chart-sens-outcome"]) $(id).addEventListener("change", charts);
  for (const id of ["chart-all", "chart-years", "chart-tradeoff", "chart-heatmap", "chart-leverage"]) {
    Plotly.newPlot($(id), [], LAYOUT, CONFIG);
    $(id).on("plotly_click", (event) => {
      const k = event.points[0].customdata;
      if (typeof k === "number") choose(document.querySelector("input[name=click]:checked").value, k);
    });
  }
  made();
  const first = D.options.findIndex((o) => o.force_size > 0);
  choose("b", state.b);
  choose("a", first < 0 ? 0 : first);
}

setup();
