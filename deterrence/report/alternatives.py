"""Headline numbers under the main structural alternatives.

Runs a config once per alternative (the default choices, then one choice
changed at a time: the record rows behind a rate, the veto's form, the
durable-truce model, the re-attack calibration) and prints a Markdown table
of the headline numbers, so a reader sees which assumptions drive them::

    python -m deterrence.report.alternatives configs/laptop.toml --runs 200000

Every alternative runs on the same seed and run indices. The numbers are
Monte Carlo estimates over the priors: each holds the parameter uncertainty
of its priors, and the simulation noise is the "MC SE" column's size.
"""

import argparse
import tomllib

import numpy as np

# (label, TOML appended to the config): one structural choice changed each.
ALTERNATIVES = (
    ("default choices", ""),
    ("ceasefire rate without Kyiv's June 2014 ceasefire",
     '[priors.lambda_c0]\nfit = "record"\nrows = "full_scale_war_only"\n'),
    ("re-attack rate from after Minsk II only", '[priors.lambda_a0]\nfit = "record"\nrows = "post_minsk2"\n'),
    ("threshold veto", '[model]\nveto = "threshold"\n'),
    ("no durable truces", '[model]\ntruces = "weibull"\n'),
    ("e_collapse not calibrated (re-attack rate counted twice)", '[model]\nreattack = "separate"\n'),
)
NO_FORCE = dict(force_size=0, posture="rear", deploy_rule="after_ceasefire", support="none",
                leverage="status_quo")
FORCE = dict(NO_FORCE, force_size=5000)
LEVERAGE = dict(NO_FORCE, leverage="assets_and_aid")
COLUMNS = ("ceasefire within 5 y", "re-attack within 2 y", "re-attack within 2 y of a ceasefire",
           "5,000 rear: deployed within 2 y", "5,000 rear: change in re-attack within 2 y",
           "assets and aid: change in re-attack within 2 y", "largest MC SE")


def _with(text: str, extra: str) -> str:
    if "[model]" in extra and "[model]" in text:
        raise SystemExit("the config has its own [model] table; give one without it")
    return text + ("\n" + extra if extra else "")


def headline(ds) -> list[float]:
    """The headline numbers of one result, in COLUMNS order (probabilities)."""
    base, force, lev = ds.sel(NO_FORCE), ds.sel(FORCE), ds.sel(LEVERAGE)
    values = [base.p_ceasefire.sel(years=5), base.p_reattack.sel(years=2),
              base.p_reattack_after_ceasefire.sel(years=2), force.p_deployed.sel(years=2),
              force.diff_p_reattack.sel(years=2), lev.diff_p_reattack.sel(years=2)]
    ses = [base.p_ceasefire_se.sel(years=5), base.p_reattack_se.sel(years=2),
           base.p_reattack_after_ceasefire_se.sel(years=2), force.p_deployed_se.sel(years=2),
           force.diff_p_reattack_se.sel(years=2), lev.diff_p_reattack_se.sel(years=2)]
    return [float(v) for v in values] + [max(float(s) for s in ses)]


def table(path: str, runs: int) -> str:
    from deterrence import config, run_study

    text = open(path, encoding="utf-8").read()
    lines = ["| structural choice | " + " | ".join(COLUMNS) + " |", "| --- |" + " --- |" * len(COLUMNS)]
    for label, extra in ALTERNATIVES:
        source = _with(text, extra)
        cfg = config.parse(tomllib.loads(source), source, path)
        numbers = headline(run_study(cfg, runs=runs, progress=False))
        cells = [f"{100 * x:+.1f}" if "change" in c else f"{100 * x:.1f}" for x, c in zip(numbers, COLUMNS,
                                                                                           strict=True)]
        cells[-1] = f"{100 * numbers[-1]:.2f}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n(percent and percentage points; changes are paired against no force, " \
                              "status quo)"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", default="configs/laptop.toml")
    p.add_argument("--runs", type=int, default=200_000)
    args = p.parse_args(argv)
    np.seterr(all="ignore")
    print(table(args.config, args.runs))


if __name__ == "__main__":
    main()
