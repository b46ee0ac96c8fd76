"""`deterrence priors`: every prior of a config as a table (or, with
``--json``, as JSON), the record's fits and, with an output folder, a CSV of
the table and figures checking the fits against the record in seeds/
(posterior predictive checks drawn in ``deterrence.style``).
`default_config` (the shipped default priors) is also what ``nowcast``
reads.

Not imported by `deterrence.report` itself: the fits it shows load scipy."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from deterrence import UserError, fit, priors, style
from deterrence.model import PARAMETERS

UNITS = {p.name: p.unit for p in PARAMETERS}
PPC_DAYS = (7, 30, 90)
PPC_DRAWS = 4000
SEED = 20240601


# ---------------------------------------------------------------- helpers

def _g(x: float) -> str:
    return f"{x:.3g}"


def _hyper(prior) -> str:
    return " ".join(f"{k}={_g(v)}" for k, v in prior.params)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:max(width - 3, 0)] + "..."


def kaplan_meier(times, events) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival: step times (0 first) and S just after each."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    steps, surv, s = [0.0], [1.0], 1.0
    for t in np.unique(times[events]):
        at_risk = np.sum(times >= t)
        d = np.sum((times == t) & events)
        s *= 1.0 - d / at_risk
        steps.append(float(t))
        surv.append(s)
    return np.array(steps), np.array(surv)


def km_median(times, events) -> float:
    steps, surv = kaplan_meier(times, events)
    below = np.nonzero(surv <= 0.5)[0]
    return float(steps[below[0]]) if len(below) else float("nan")


def _km_data(truces, bound: str):
    """(times, events) with interval-censored rows as failures at one bound."""
    times, events = [], []
    for t in truces:
        if t.censored:
            times.append(t.days)
            events.append(False)
        else:
            times.append(t.lower_days if (t.interval_censored and bound == "lower") else t.days)
            events.append(True)
    return np.array(times, float), np.array(events, bool)


def posterior_predictive(f: fit.RecordFit, rng: np.random.Generator, draws: int = PPC_DRAWS):
    """Share of truces failed within PPC_DAYS: the record's bracket (interval
    rows failed surely / possibly) and simulated records of the same truces
    (same right-censoring) from parameter draws of the fitted priors."""
    truces = f.record.truces
    n = len(truces)
    params = f.truce.draws(draws, rng)
    durations = params[:, 1:2] * rng.weibull(params[:, 0:1], size=(draws, n))
    limit = np.array([t.days if t.censored else np.inf for t in truces])
    out = []
    for day in PPC_DAYS:
        sure = sum(1 for t in truces if not t.censored and t.days <= day)
        possible = sum(1 for t in truces if not t.censored
                       and (t.lower_days < day if t.interval_censored else t.days <= day))
        sim = np.mean(durations <= np.minimum(day, limit), axis=1)
        low, mid, high = np.quantile(sim, [0.05, 0.5, 0.95])
        out.append({"days": day, "record_low": sure / n, "record_high": possible / n,
                    "pred_low": low, "pred_median": mid, "pred_high": high, "sim": sim,
                    "consistent": possible / n >= low and sure / n <= high})
    return out


# ---------------------------------------------------------------- figures

def _figure_survival(f: fit.RecordFit, path: Path, rng) -> None:
    truces = f.record.truces
    fig = style.figure()
    ax = fig.add_subplot()
    grid = np.geomspace(1, 800, 300)
    draws = f.truce.draws(4000, rng)
    surv = np.exp(-(grid[None, :] / draws[:, 1:2]) ** draws[:, 0:1])
    lo, hi = np.quantile(surv, [0.05, 0.95], axis=0)
    shape, scale = f.truce.values
    ax.fill_between(grid, lo, hi, color="tab:orange", alpha=0.25,
                    label="90% band from the fitted priors of shape and scale")
    ax.plot(grid, np.exp(-(grid / scale) ** shape), color="tab:orange", lw=2,
            label=f"Weibull fit: shape {shape:.2f}, scale {scale:.0f} days")
    for bound, line, label in (("upper", "-", "Kaplan-Meier, interval-censored truces failing at their upper bound"),
                                ("lower", "--", "Kaplan-Meier, interval-censored truces failing at their lower bound")):
        times, events = _km_data(truces, bound)
        steps, s = kaplan_meier(np.maximum(times, 1.0), events)
        steps = np.append(np.maximum(steps, 1.0), 800)
        ax.step(steps, np.append(s, s[-1]), where="post", color="k", ls=line, lw=1.5, label=label)
    cens = [t.days for t in truces if t.censored]
    times, events = _km_data(truces, "upper")
    steps, s = kaplan_meier(times, events)
    cens_s = [s[np.searchsorted(steps, c, side="right") - 1] for c in cens]
    ax.plot(cens, cens_s, "k+", ms=12, mew=2, label="right-censored (superseded) truces")
    ax.set_xscale("log")
    ax.set_xlim(1, 800)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("days since the truce took effect (log scale; failures at day 0 shown at day 1)")
    ax.set_ylabel("share of truces still holding")
    n_exact, n_interval, n_right = f.truce_counts()
    ax.set_title(f"Donbas truces 2014-2022 (seeds/truces.csv): {n_exact} exact, "
                 f"{n_interval} interval-censored, {n_right} right-censored", fontsize=style.TITLE_SIZE)
    ax.grid(True, which="both", alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE, loc="upper right")
    style.save(fig, path)


def _figure_violations(f: fit.RecordFit, path: Path, rng) -> None:
    fig = style.figure(style.WIDE)
    axes = fig.subplots(1, 2)
    for ax, regime in zip(axes, ("truce", "war"), strict=True):
        days, totals = f.nb_data[regime]
        nb = f.nb[regime]
        rates = np.sort(totals / days)
        ecdf = np.arange(1, len(rates) + 1) / len(rates)
        # Predictive: each period's d, parameters from the fitted priors.
        reps = 400
        params = nb.draws(reps, rng)
        mu, k = params[:, 0:1], params[:, 1:2]
        lam = rng.gamma(days[None, :] * k, mu / k)
        sim = rng.poisson(lam) / days[None, :]
        x_grid = np.geomspace(0.5, 5e4, 300)
        curves = np.array([np.searchsorted(np.sort(row), x_grid, side="right") / len(row) for row in sim])
        lo, mid, hi = np.quantile(curves, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(x_grid, lo, hi, color="tab:blue", alpha=0.25,
                        label="model: 90% band of simulated records")
        ax.plot(x_grid, mid, color="tab:blue",
                label=f"model: NB mu {nb.get('mu'):.0f}/day, k {nb.get('k'):.2f}")
        ax.step(np.maximum(rates, 0.5), ecdf, where="post", color="k", lw=1.5,
                label=f"OSCE record: {len(rates)} periods ({int(days.sum())} days)")
        ax.set_xscale("log")
        ax.set_xlim(0.5, 5e4)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("violations per day in the period (log scale; 0 shown at 0.5)")
        ax.set_ylabel("cumulative share of periods")
        ax.set_title(f"{regime} periods", fontsize=style.TITLE_SIZE)
        ax.grid(True, which="both", alpha=style.GRID_ALPHA)
        ax.legend(fontsize=style.LEGEND_SIZE, loc="upper left")
    fig.suptitle("OSCE SMM ceasefire violations (seeds/violations.csv, kind=count, both regions) "
                 "vs the fitted negative binomial", fontsize=style.TITLE_SIZE)
    style.save(fig, path)


def _figure_ppc(ppc, n: int, path: Path) -> None:
    fig = style.figure()
    ax = fig.add_subplot()
    x = np.arange(len(ppc))
    parts = ax.violinplot([c["sim"] for c in ppc], positions=x + 0.12, widths=0.5, showextrema=False)
    for body in parts["bodies"]:
        body.set_color("tab:orange")
        body.set_alpha(0.3)
    for i, c in enumerate(ppc):
        ax.errorbar(i + 0.12, c["pred_median"], yerr=[[c["pred_median"] - c["pred_low"]],
                                                [c["pred_high"] - c["pred_median"]]],
                    fmt="o", color="tab:orange", capsize=6, lw=2,
                    label="model: median and 90% predictive interval" if i == 0 else None)
        ax.fill_between([i - 0.2, i - 0.04], c["record_low"], max(c["record_high"], c["record_low"] + 0.005),
                        facecolor="0.5", edgecolor="k", alpha=0.8,
                        label="record: failed surely - possibly (interval-censored truces)" if i == 0 else None)
    ax.set_xticks(x, [f"within {c['days']} days" for c in ppc])
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"share of the {n} truces seen failing")
    ax.set_title("Posterior predictive check: simulated records of the same truces\n"
                 "(same right-censoring, parameters drawn from the fitted priors)", fontsize=style.TITLE_SIZE)
    ax.grid(True, axis="y", alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE, loc="upper left")
    style.save(fig, path)


# ---------------------------------------------------------------- report

def _rows(config):
    rows = []
    for p in config.priors:
        mean, low, high = priors.summary(p)
        detail = (fit.record_prior(p.name, rows=p.rows or None, choices=config.choices).source
                  if p.fit == "record" else "")
        rows.append({"parameter": p.name, "unit": UNITS.get(p.name, ""), "family": p.dist,
                     "hyperparameters": _hyper(p), "mean": mean, "p05": low, "p95": high,
                     "fit": p.fit, "rows": p.rows, "basis": priors.basis(p), "source": p.source,
                     "fit_detail": detail})
    return rows


def table(config, width: int | None = None) -> str:
    width = width or max(shutil.get_terminal_size((150, 24)).columns, 100)
    rows = _rows(config)
    head = ("parameter", "unit", "family", "hyperparameters", "mean", "90% interval", "basis")
    cells = [(r["parameter"], r["unit"], r["family"] + ("*" if r["fit"] else ""), r["hyperparameters"],
              _g(r["mean"]), f"{_g(r['p05'])} - {_g(r['p95'])}", r["basis"]) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    used = sum(widths) + 2 * len(widths)
    source_width = max(width - used, 20)
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  source",
             "-" * min(width, used + source_width)]
    for c, r in zip(cells, rows, strict=True):
        cells_text = "  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True))
        lines.append(cells_text + "  " + _cut(r["source"], source_width))
    lines.append("* fitted from the record in seeds/ (fit = \"record\"); priors.csv has the full sources")
    counts = {b: sum(r["basis"] == b for r in rows) for b in (priors.RECORD, priors.LITERATURE, priors.JUDGMENT,
                                                               priors.CHOICE)}
    lines.append(f"basis: {counts[priors.RECORD]} fitted to the record, {counts[priors.LITERATURE]} from the "
                 f"literature, {counts[priors.JUDGMENT]} judgment (the source gives the reasoning), "
                 f"{counts[priors.CHOICE]} scale or fixed choices")
    lines.append("[model] " + ", ".join(f"{k} = {v}" for k, v in config.choices.items())
                 + "; record rows: " + ", ".join(f"{r['parameter']} = {r['rows']}" for r in rows if r["rows"]))
    return "\n".join(lines)


def to_json(config) -> str:
    """Every prior as ``deterrence priors`` lists it (family, hyperparameters, mean, 90% interval, source), as JSON."""
    return json.dumps(_rows(config), indent=2, default=float)


def markdown(config) -> str:
    """Every parameter's prior and source as a Markdown table (docs/model.md
    holds this table for the default priors; a test keeps the two equal)."""
    lines = ["| parameter | unit | prior | mean | 90% interval | basis | source |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in _rows(config):
        prior = f"{r['family']} {r['hyperparameters']}" + (f" (record, rows {r['rows']})" if r["rows"] else
                                                          " (record)" if r["fit"] else "")
        source = " ".join(r["source"].split()).replace("|", "/")
        lines.append(f"| `{r['parameter']}` | {r['unit']} | {prior} | {_g(r['mean'])} | "
                     f"{_g(r['p05'])} - {_g(r['p95'])} | {r['basis']} | {source} |")
    return "\n".join(lines) + "\n"


def default_config():
    """The config of the shipped default priors (what `deterrence priors` shows without a config)."""
    from deterrence import config

    return config.parse({"study": {"name": "defaults", "runs": 1, "seed": 0}}, "", "deterrence/priors.toml")


def summary(f: fit.RecordFit, ppc) -> str:
    t = f.truce
    shape, scale = t.values
    up = km_median(*_km_data(f.record.truces, "upper"))
    lo = km_median(*_km_data(f.record.truces, "lower"))
    weib_median = scale * np.log(2.0) ** (1.0 / shape)
    n_exact, n_interval, n_right = f.truce_counts()
    lines = ["Fit of the record (seeds/):",
             f"  truces: Weibull shape {shape:.3f} (SE of log {t.se('shape'):.3f}, "
             f"90% {shape * np.exp(-1.645 * t.se('shape')):.2f}-{shape * np.exp(1.645 * t.se('shape')):.2f}), "
             f"scale {scale:.1f} days (SE of log {t.se('scale'):.3f}, "
             f"90% {scale * np.exp(-1.645 * t.se('scale')):.0f}-{scale * np.exp(1.645 * t.se('scale')):.0f}); "
             f"correlation of the logs {fit.signed(t.corr)}; {t.n} truces ({n_exact} exact, "
             f"{n_interval} interval-censored, {n_right} right-censored)",
             f"  median truce duration: record (Kaplan-Meier) {up:.0f} days with interval-censored "
             f"truces at their upper bound, {lo:.0f} days at their lower bound; fitted Weibull "
             f"{weib_median:.0f} days"]
    alternatives = []
    merged = fit.merged_2020_2021(f.record.truces)
    for label, data in (("merged Jul 2020 - Feb 2022 episode", fit.truce_data(merged)),
                        ("interval rows at their upper bound", fit.truce_data(f.record.truces, "upper")),
                        ("at their lower bound", fit.truce_data(f.record.truces, "lower"))):
        alt = fit.fit_weibull(data)
        alternatives.append(f"{label}: shape {alt.get('shape'):.2f}, scale {alt.get('scale'):.0f}")
    lines.append("  sensitivity (seeds/README.md judgment calls): " + "; ".join(alternatives))
    for regime in ("truce", "war"):
        nb = f.nb[regime]
        lines.append(f"  violations, {regime}: NB mu {nb.get('mu'):.1f}/day (SE of log {nb.se('mu'):.3f}), "
                     f"k {nb.get('k'):.3f} (SE of log {nb.se('k'):.3f}), {nb.n} periods")
    lines.append(f"  rates: lambda_c0 {f.ceasefire.mean:.2e}/day, lambda_a0 {f.reattack.mean:.2e}/day, "
                 f"lambda_retruce {f.retruce.mean:.2e}/day (gamma posterior means)")
    checks = []
    for c in ppc:
        rec = (f"{c['record_low']:.2f}" if c["record_low"] == c["record_high"]
               else f"{c['record_low']:.2f}-{c['record_high']:.2f}")
        checks.append(f"{c['days']} d: record {rec}, model {c['pred_low']:.2f}-{c['pred_high']:.2f} "
                      f"({'consistent' if c['consistent'] else 'NOT consistent'})")
    verdict = "all consistent" if all(c["consistent"] for c in ppc) else "some NOT consistent"
    lines.append(f"  predictive check, share of truces failed ({verdict}): " + "; ".join(checks))
    return "\n".join(lines)


def report(config, out_dir: Path | None) -> str:
    """The priors table, the files written (with ``out_dir``) and a summary of the fit."""
    f = fit.fit_record()
    rng = np.random.default_rng(SEED)
    ppc = posterior_predictive(f, rng)
    parts = [table(config)]
    if out_dir is not None:
        out_dir = Path(out_dir)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"--out {out_dir}: cannot create the folder ({error.strerror or error})") from None
        files = {
            "priors.csv": "every prior: family, hyperparameters, mean, 90% interval, source",
            "truce_survival.png": "Kaplan-Meier of truce durations vs the fitted Weibull",
            "violations_nb.png": "OSCE violations per day vs the fitted negative binomial",
            "truce_ppc.png": "posterior predictive check of truces failed within 7, 30, 90 days",
        }
        rows = _rows(config)
        with open(out_dir / "priors.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        _figure_survival(f, out_dir / "truce_survival.png", rng)
        _figure_violations(f, out_dir / "violations_nb.png", rng)
        _figure_ppc(ppc, len(f.record.truces), out_dir / "truce_ppc.png")
        parts.append("Wrote:\n" + "\n".join(f"  {out_dir / name}  ({what})" for name, what in files.items()))
    parts.append(summary(f, ppc))
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(markdown(default_config()), end="")
