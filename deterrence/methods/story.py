"""Why and when: option A against option B, explained.

A Markdown section (and two figures) that explains one comparison in three
ways, each from a tool that owns it:

- **Where each does better** (``deterrence explain``, run both ways on the
  2-year re-attack): the top box where A does worse than B, and the top box
  where B does worse than A, each with its bounds, mass, density, coverage,
  mean effect and stability.
- **What is worth learning** (``deterrence decide`` on the options [A, B],
  with the config's ``[decision]`` loss): the expected loss of each, the
  EVPI, and the parameters ranked by EVPPI with their Monte Carlo errors and
  switching values.
- **One history of each kind** (``deterrence trace``): the first run of the
  study in which A is re-attacked within 2 years and B is not, and the first
  in which B is and A is not, found by replaying the study's runs in order
  (``kernels.replay_runs``), each told for A and for B: the same run index,
  so the same random numbers and the same parameter draw.

Every number in the prose is computed here. From Python::

    from deterrence.methods import story
    found = story.compare_options(story.load("configs/laptop.toml"), "force_size=5000", "")
    print(story.write(found, "out")[0])   # the section; the figures in out/

From the command line, ``deterrence report RESULT --out DIR --a A
--b B`` adds the section to the report; for a config without a result,
``python -m deterrence.methods.story CONFIG --a A --b B --out DIR``
writes it alone (comparison.md).
"""

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deterrence import UserError, decide, experiment, explain, kernels
from deterrence.config import Config, Option
from deterrence.decide import load
from deterrence.model import EVENTS, PARAMETERS, YEARS
from deterrence.replay import options_plan, replay
from deterrence.report.grid import plain_option
from deterrence.runner import fault_message
from deterrence.trace import Trace, parse_option, story, trace_run

# The regions and the decision are read on the headline, days at war; the
# histories are those where one option is re-attacked within YEAR years and
# the other not (a re-attack is what a history turns on).
OUTCOME = "war_days"
EVENT, YEAR = "reattack_day", 2
DRAWS = experiment.DRAWS   # parameter draws of explain and decide
EVPPI_ROWS = 5             # parameters shown by EVPPI, those of at least SHOWN_EVPPI (at least two)
SHOWN_EVPPI = 5e-5         # half the last digit shown
SCAN_BLOCK = 1000          # runs replayed at a time in the search for the histories
FIGURES = {"A": "comparison_a_worse.png", "B": "comparison_b_worse.png"}
MEANINGS = {p.name: p.meaning for p in PARAMETERS}
UNITS = {p.name: p.unit for p in PARAMETERS}
__all__ = ["compare_options", "first_runs", "load", "section", "write"]


@dataclass(frozen=True)
class History:
    """One traced history of a kind: ``run``, the first run of the study
    (below ``scanned``) where ``worse`` ("A" or "B") is re-attacked within
    the year and the other is not, told for A (``a``) and B (``b``); None
    when no run among the ``scanned`` is of that kind."""
    worse: str
    run: int | None
    a: Trace | None
    b: Trace | None
    scanned: int


@dataclass(frozen=True)
class Comparison:
    """A against B: where each is worse (``a_worse``: explain A vs B;
    ``b_worse``: explain B vs A), the decision between them, one history of
    each kind."""
    config: Config
    a: Option
    b: Option
    a_worse: explain.Explanation
    b_worse: explain.Explanation
    decision: decide.Decision
    histories: tuple[History, History]
    resamples: int
    terms: dict          # each weighted loss term's mean paired difference A - B over the draws: (mean, SE)


def compare_options(cfg: Config, a: Option | str, b: Option | str | None = None, draws: int | None = None,
                    runs_per_draw: int | None = None, resamples: int = explain.RESAMPLES,
                    workers: int | None = None, show_progress: bool | None = None) -> Comparison:
    """Explain ``a`` against ``b`` (options, or their text ``axis=level,...``;
    ``b`` None or "": the study's baseline) under ``cfg``: ``draws`` (default
    DRAWS) parameter draws of ``runs_per_draw`` runs (default as ``deterrence
    explain``) for the regions and the decision, the study's own runs for
    the histories."""
    a, b = (parse_option(o, cfg.study.baseline, flag) if isinstance(o, str) else o
            for o, flag in ((a, "--a"), (b or "", "--b")))
    if a == b:
        raise UserError("--a and --b are the same option; compare two different options")
    given = dict(draws=DRAWS if draws is None else draws, runs_per_draw=runs_per_draw, workers=workers,
                 show_progress=show_progress)
    a_worse = explain.explain(cfg, a, b, OUTCOME, resamples=resamples, **given)
    b_worse = explain.explain(cfg, b, a, OUTCOME, resamples=resamples, **given)
    decision = decide.decide(cfg, [a, b], **given)
    # The same draws and runs as the decision's two halves together, term by term.
    both = replay(cfg, [a, b], decision.draws, runs_per_draw=decision.runs_per_draw, workers=workers,
                  show_progress=show_progress)
    terms = {}
    for name, weight in cfg.decision.items():
        if weight:
            gap = weight * (decide.term(name, both) @ [1.0, -1.0])
            terms[name] = (float(gap.mean()), float(gap.std(ddof=1) / np.sqrt(gap.size)))
    runs = first_runs(cfg, a, b)
    histories = tuple(History(worse, run, *((trace_run(cfg, run, a), trace_run(cfg, run, b)) if run is not None
                                            else (None, None)), runs["scanned"])
                      for worse, run in (("A", runs["A"]), ("B", runs["B"])))
    return Comparison(cfg, a, b, a_worse, b_worse, decision, histories, resamples, terms)


def first_runs(cfg: Config, a: Option, b: Option, limit: int | None = None) -> dict:
    """The first run of the study (index below ``limit``, default
    study.runs) in which A is re-attacked within 2 years and B is not
    (key "A"), and the first in which B is and A is not ("B"); None where
    none is found; "scanned": the runs replayed. Runs are replayed in order
    with the study's runs per draw, exactly as ``deterrence run`` computes
    them."""
    plan = options_plan(cfg, [a, b])
    column = EVENTS.index(EVENT) * len(YEARS) + YEARS.index(YEAR)
    limit = cfg.study.runs if limit is None else limit
    found = {"A": None, "B": None}
    start = 0
    while start < limit and None in found.values():
        stop = min(start + SCAN_BLOCK, limit)
        flags, _, fault = kernels.replay_runs(plan.kernel, start, stop)
        if fault[0] != kernels.NO_FAULT:
            raise UserError(fault_message(plan, *(int(x) for x in fault)))
        hit = flags[:, :, column].astype(bool)
        for key, only in (("A", hit[:, 0] & ~hit[:, 1]), ("B", hit[:, 1] & ~hit[:, 0])):
            if found[key] is None and only.any():
                found[key] = start + int(np.argmax(only))
        start = stop
    return {**found, "scanned": start}


# ---------------------------------------------------------------- the section in words


def basis(cfg: Config, name: str) -> str:
    """Where a parameter's prior comes from, in two or three words."""
    prior = next(p for p in cfg.priors if p.name == name)
    if prior.fit == "record" or prior.source.startswith("Fitted"):
        return "fitted to the record"
    return "judgment" if "judgment" in prior.source.lower() else "from the literature"


def _named(cfg: Config, name: str) -> str:
    return f"`{name}` ({MEANINGS[name]}; {basis(cfg, name)})"


def _value(name: str, x: float) -> str:
    unit = UNITS[name]
    return f"{x:.3g}" + ("" if unit == "1" else f" {unit}")


def _bounds(box: explain.Box) -> str:
    return " and ".join(f"`{b.parameter}` {'>' if b.side == explain.ABOVE else '≤'} {_value(b.parameter, b.threshold)}"
                        for b in box.bounds) or "everywhere"


def _stability(box: explain.Box) -> str:
    parts = [f"overlap {box.overlap:.2f}"]
    for b in box.bounds:
        low, high = b.spread
        where = f", threshold {low:.3g}–{high:.3g}" if math.isfinite(low) else ""
        parts.append(f"`{b.parameter}` in {b.chosen:.0%} of refits{where}")
    return "; ".join(parts)


def inside(box: explain.Box, parameters: dict[str, float]) -> bool:
    """Whether a draw of the parameters lies in the box."""
    return all((parameters[b.parameter] > b.threshold) == (b.side == explain.ABOVE) for b in box.bounds)


def _regions(c: Comparison) -> list[str]:
    ex = c.a_worse
    md = ["### Where each does better", "",
          f"On the mean days at war over the horizon, A has {_points(abs(ex.mean_effect))} days "
          f"{'more' if ex.mean_effect > 0 else 'fewer'} than B on average (simulation noise "
          f"±{_points(ex.mean_effect_se)}), over "
          f"{ex.draws:,} parameter draws of {ex.runs_per_draw:,} runs each, the same runs for both (common random "
          f"numbers). By each draw's denoised effect, A does better by more than {_points(ex.margin)} days "
          f"under {ex.shares['better']:.1%} of the draws, about the same under {ex.shares['same']:.1%}, and worse "
          f"under {ex.shares['worse']:.1%}. The boxes (`deterrence explain`, both ways) are the regions of the "
          f"parameters where one option does worse: *mass*, the share of all draws inside; *density*, the share "
          f"of those that are worse; *coverage*, the share of all worse draws that the box holds; *worse by*, "
          f"the mean excess days at war inside (± its standard error); *stability*, over "
          f"{c.resamples} refits on random halves of the draws, the mean overlap of the refitted box with "
          f"this one and how often each bound returns, with its threshold's 5–95% range.", "",
          "| where | top box | draws (mass) | density | coverage | worse by (days at war) | stability |",
          "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    said = []
    for worse, better, found in (("A", "B", c.a_worse), ("B", "A", c.b_worse)):
        if not found.boxes:
            md.append(f"| {worse} worse, {better} better | none: {worse} is worse in no region of most draws "
                      f"| | | | | |")
            continue
        top = found.boxes[0]
        md.append(f"| {worse} worse, {better} better | {_bounds(top)} | {top.draws:,} ({top.mass:.0%}) | "
                  f"{top.density:.2f} | {top.coverage:.2f} | {_points(top.effect, sign=True)} ± "
                  f"{_points(top.effect_se)} | {_stability(top)} |")
        more = len(found.boxes) - 1
        said.append(f"{worse} does worse than {better} mostly where {_bounds(top)}: {top.mass:.0%} of the draws, "
                    f"holding {top.coverage:.0%} of those where {worse} is worse"
                    + (f" ({more} more box{'es' * (more > 1)}: `deterrence explain` lists them)" if more else "")
                    + ".")
    return md + ["", " ".join(said), ""]


def _points(days: float, sign: bool = False) -> str:
    """Days at war (the regions' outcome), to a tenth of a day."""
    return f"{days:{'+' if sign else ''}.1f}"


def _decision(c: Comparison) -> list[str]:
    d = c.decision
    names = ("A", "B")
    best, other = d.best, 1 - d.best
    weights = " + ".join(f"{w:g} × `{k}`" for k, w in d.weights.items() if w)
    gaps = ", ".join(f"`{k}` {m:+.4f} ± {se:.4f}" for k, (m, se) in c.terms.items())
    said = [f"`deterrence decide` on the two options weighs each draw's outcomes into a loss, {weights} (the "
            f"config's `[decision]` weights, themselves judgment), over {d.draws:,} parameter draws of "
            f"{d.runs_per_draw:,} runs. {names[best]} has the lower expected loss, "
            f"{d.expected_loss[best]:.4f} ± {d.expected_loss_se[best]:.4f} against "
            f"{d.expected_loss[other]:.4f} ± {d.expected_loss_se[other]:.4f} for {names[other]}. Term by term, "
            f"the weighted loss of A minus that of B (mean over the draws ± its standard error): {gaps}."]
    if (c.a_worse.mean_effect < 0) != (best == 0):
        against = max(c.terms, key=lambda k: c.terms[k][0] * (1 if best == 1 else -1))
        said.append(f"So the decision goes against the re-attack risk alone, on which {names[other]} is the "
                    f"better: the other terms outweigh it, most of all `{against}`.")
    said.append(f"Choosing {names[best]} still loses on average, against the better of the two in each world, "
                f"the expected value of perfect information: EVPI {d.evpi:.4f} ± {d.evpi_se:.4f} (± Monte Carlo "
                f"error; {d.evpi_plugin:.4f} before the correction for run noise). Learning one parameter exactly "
                f"is worth its EVPPI:")
    md = ["### What is worth learning", "", " ".join(said), "",
          "| parameter | EVPPI (± MC error) | of EVPI | switching value |", "| --- | ---: | ---: | --- |"]
    rows = [i for i in d.information[:EVPPI_ROWS] if i.evppi >= SHOWN_EVPPI] or d.information[:2]
    for info in rows:
        share = f"{info.evppi / d.evpi:.0%}" if d.evpi > 0 else "n/a"
        shown = decide.headline(info.switches, d.best)
        where = "none"
        if shown:
            error = f" ± {info.switch_se:.2g}" if math.isfinite(info.switch_se) else ""
            more = f" ({len(info.switches) - 1} more)" if len(info.switches) > 1 else ""
            where = (f"{_value(info.parameter, shown.value)}{error}: {names[shown.before]} below, "
                     f"{names[shown.after]} above{more}")
        md.append(f"| `{info.parameter}` | {info.evppi:.4f} ± {info.evppi_se:.4f} | {share} | {where} |")
    rest = len(d.information) - len(rows)
    said = [f"The other {rest} uncertain parameters each have an EVPPI under {SHOWN_EVPPI:.5f}." if rest else ""]
    said.append("The most valuable to learn: " + "; then ".join(
        f"{_named(c.config, i.parameter)}, EVPPI {i.evppi:.4f} ± {i.evppi_se:.4f}"
        + (" (within two Monte Carlo errors of zero)" if i.evppi <= 2 * i.evppi_se else "")
        for i in d.information[:2]) + ".")
    if d.evpi > 0:
        total = sum(i.evppi for i in d.information) / d.evpi
        if total < 0.5:
            said.append(f"The single parameters' EVPPIs add up to {total:.0%} of the EVPI: no one assumption "
                        f"settles the choice; it turns on several together (learning all of them exactly would "
                        f"be worth the EVPI).")
    return md + ["", " ".join(text for text in said if text), ""]


def _histories(c: Comparison) -> list[str]:
    md = ["### One history of each kind", "",
          f"The first run of the study in which one option is re-attacked within {YEAR} years and the other is "
          f"not, told for both: the same run index, so the same parameter draw and the same random numbers "
          f"(`deterrence trace`; the parameters are the draw's, the same for A and B).", ""]
    named = _shown_parameters(c)
    for h in c.histories:
        other = "B" if h.worse == "A" else "A"
        md += [f"#### {h.worse} re-attacked within {YEAR} years, {other} not", ""]
        if h.run is None:
            md += [f"None among the study's first {h.scanned:,} runs.", ""]
            continue
        where = [f"the box where {w} does worse" for w, ex in (("A", c.a_worse), ("B", c.b_worse))
                 if ex.boxes and inside(ex.boxes[0], h.a.parameters)]
        md += [f"Run {h.run:,} (parameter draw {h.run // c.config.study.runs_per_draw:,}; inside "
               f"{' and '.join(where) or 'neither top box'}): "
               + ", ".join(f"`{p}` = {_value(p, h.a.parameters[p])}" for p in named) + ".", "",
               "```text", f"A: {story(h.a, parameters=False)}", "", f"B: {story(h.b, parameters=False)}", "```",
               ""]
    return md


def _shown_parameters(c: Comparison) -> list[str]:
    """The parameters the boxes bound and the two most valuable to learn, once each."""
    names = [b.parameter for ex in (c.a_worse, c.b_worse) for box in ex.boxes[:1] for b in box.bounds]
    names += [i.parameter for i in c.decision.information[:2]]
    return list(dict.fromkeys(names))


def section(c: Comparison, figures: dict[str, Path] | None = None) -> str:
    """The Markdown section; ``figures`` ("A", "B": the box figures) are linked by file name."""
    md = [f"## Why and when: {plain_option(dataclasses.asdict(c.a), all_axes=True)} against "
          f"{plain_option(dataclasses.asdict(c.b), all_axes=True)}", "",
          f"- A: `{explain.option_text(c.a)}`", f"- B: `{explain.option_text(c.b)}`", "",
          *_regions(c)]
    for worse, path in (figures or {}).items():
        md += [f"![Where {worse} does worse]({Path(path).name})", ""]
    md += [*_decision(c), *_histories(c), "### The assumptions behind these numbers", "",
           "The regions and the histories rest on the parameters named here, the decision also on the loss "
           "weights: " + "; ".join(_named(c.config, p) for p in _shown_parameters(c)) + ". A judgment prior "
           "moves every number above with it: `deterrence priors` gives each prior and its source.", ""]
    return "\n".join(md)


def write(c: Comparison, out_dir: Path) -> tuple[str, list[Path]]:
    """Draw the two box figures into ``out_dir``; return the section and the figures' paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {worse: explain.draw(ex, out_dir / FIGURES[worse], (worse, better))
               for worse, better, ex in (("A", "B", c.a_worse), ("B", "A", c.b_worse))}
    return section(c, figures), list(figures.values())


def main(argv: list[str] | None = None) -> int:
    """``python -m deterrence.methods.story CONFIG --a A --b B --out DIR``: comparison.md and figures."""
    from deterrence.arguments import Parser, add_options, whole_number
    from deterrence.results import output_folder

    p = Parser(prog="python -m deterrence.methods.story", description=__doc__.split("\n\n")[0])
    p.add_argument("source", metavar="RESULT_OR_CONFIG", help="a study config (TOML), or a result whose config is "
                                                              "replayed")
    add_options(p, old_a=("--option",), old_b=("--vs",))
    p.add_argument("--out", required=True, help="folder for comparison.md and the figures")
    p.add_argument("--draws", type=whole_number, default=DRAWS, help="parameter draws (default %(default)s)")
    p.add_argument("--runs-per-draw", type=whole_number, help="runs per draw, even (default as deterrence explain)")
    p.add_argument("--workers", type=whole_number, help="local worker threads (default: all cores)")
    args = p.parse_args(argv)
    try:
        output_folder(args.out, "--out")
        found = compare_options(load(args.source), args.a, args.b, args.draws, args.runs_per_draw,
                                workers=args.workers)
        text, paths = write(found, Path(args.out))
    except UserError as error:
        print(f"deterrence: error: {error}", file=sys.stderr)
        return 2
    path = Path(args.out) / "comparison.md"
    path.write_text(text)
    print(text)
    print(f"wrote {path}, " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
