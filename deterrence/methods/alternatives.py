"""Headline numbers under the main structural alternatives.

Runs a config once per alternative (the default choices, then one choice
changed at a time: the record rows behind a rate, the veto's form, the
durable-truce model, the re-attack calibration) and prints a Markdown table
of the headline numbers, so a reader sees which assumptions drive them::

    python -m deterrence.methods.alternatives configs/laptop.toml --runs 1000000

Every alternative runs on the same seed and run indices. The numbers are
Monte Carlo estimates over the priors, each with its 90% parameter interval
(the study's `runs_per_draw` > 1); the last column is the largest
simulation noise (Monte Carlo SE) among them, not an uncertainty of the answer.
"""

import sys
import time
import tomllib

import numpy as np

from deterrence.report.grid import bounds, span

# (label, TOML appended to the config): one structural choice changed each.
ALTERNATIVES = (
    ("default choices", ""),
    ("ceasefire rate without Kyiv's June 2014 ceasefire",
     '[priors.lambda_c0]\nfit = "record"\nrows = "full_scale_war_only"\n'),
    ("re-attack rate from after Minsk II only", '[priors.lambda_a0]\nfit = "record"\nrows = "post_minsk2"\n'),
    ("threshold veto", '[model]\nveto = "threshold"\n'),
    ("no durable truces", '[model]\ntruces = "weibull"\n'),
    ("truces of random strength (no durable truces)", '[model]\ntruces = "strength"\n'),
    ("e_collapse not calibrated (re-attack rate counted twice)", '[model]\nreattack = "separate"\n'),
)
NO_FORCE = dict(force_size=0, posture="rear", deploy_rule="after_ceasefire", support="none",
                leverage="status_quo")
FORCE = dict(NO_FORCE, force_size=5000)
LEVERAGE = dict(NO_FORCE, leverage="assets_and_aid")
# (column, option, variable, years): the headline numbers (years None: a
# mean over the horizon, in days; else a probability, in percent).
COLUMNS = (("5,000 rear: change in days at war", FORCE, "diff_mean_war_days", None),
           ("assets and aid: change in days at war", LEVERAGE, "diff_mean_war_days", None),
           ("ceasefire within 5 y", NO_FORCE, "p_ceasefire", 5),
           ("re-attack within 2 y", NO_FORCE, "p_reattack", 2),
           ("re-attack within 2 y of a ceasefire", NO_FORCE, "p_reattack_after_ceasefire", 2),
           ("5,000 rear: deployed within 2 y", FORCE, "p_deployed", 2),
           ("5,000 rear: change in re-attack within 2 y", FORCE, "diff_p_reattack", 2),
           ("assets and aid: change in re-attack within 2 y", LEVERAGE, "diff_p_reattack", 2))
NOISE = "largest simulation noise (MC SE)"


def _with(text: str, extra: str) -> str:
    if "[model]" in extra and "[model]" in text:
        raise SystemExit("the config has its own [model] table; give one without it")
    return text + ("\n" + extra if extra else "")


def cells(ds) -> list[str]:
    """The headline numbers of one result, in COLUMNS order, in percent (a
    change in points), each with its 90% parameter interval where the result
    has one; then the largest simulation noise among them."""
    found, noise = [], 0.0
    for _, option, name, years in COLUMNS:
        o = ds.sel(option) if years is None else ds.sel(option).sel(years=years)
        sign = "+" if name.startswith("diff") else ""
        interval = bounds(o, name)
        if years is None:
            text = f"{float(o[name]):{sign}.0f}"
            found.append(text if interval is None else
                         f"{text} [{float(interval[0]):{sign}.0f}, {float(interval[1]):{sign}.0f}]")
            continue
        noise = max(noise, float(o[f"{name}_se"]))
        text = f"{100 * float(o[name]):{sign}.1f}"
        found.append(text if interval is None else f"{text} {span(*(float(b) for b in interval), 1)}")
    return found + [f"{100 * noise:.2f}"]


def table(path: str, runs: int, progress: bool = True) -> str:
    """The Markdown table, one row per alternative; with ``progress``, each
    study's progress on stderr, after a line naming the alternative."""
    from deterrence import config, run_study

    text = open(path, encoding="utf-8").read()
    head = [c for c, *_ in COLUMNS] + [NOISE]
    lines = ["| structural choice | " + " | ".join(head) + " |", "| --- |" + " --- |" * len(head)]
    start = time.perf_counter()
    for k, (label, extra) in enumerate(ALTERNATIVES, 1):
        source = _with(text, extra)
        cfg = config.parse(tomllib.loads(source), source, path)
        if progress:
            print(f"alternative {k} of {len(ALTERNATIVES)}: {label} ({time.perf_counter() - start:.0f} s so far)",
                  file=sys.stderr)
        lines.append(f"| {label} | " + " | ".join(cells(run_study(cfg, runs=runs, progress=progress))) + " |")
    return "\n".join(lines) + (
        "\n\n(days at war over the horizon in days; percent and percentage points; changes are paired against no "
        "force, status quo; in brackets the "
        "90% parameter interval where the study has several runs per parameter draw; the last column is the "
        "largest simulation noise of the probabilities only)")


def main(argv=None) -> int:
    from deterrence import UserError
    from deterrence.arguments import Parser, whole_number

    p = Parser(prog="python -m deterrence.methods.alternatives", description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", default="configs/laptop.toml")
    p.add_argument("--runs", type=whole_number, default=1_000_000, help="runs per alternative (default 1e6)")
    args = p.parse_args(argv)
    np.seterr(all="ignore")
    try:
        print(table(args.config, args.runs))
    except (UserError, OSError) as error:
        print(f"deterrence: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
