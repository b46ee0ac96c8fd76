"""First-order sensitivity recovers a known answer when one parameter varies."""

import numpy as np
from scipy import integrate

from deterrence import config, priors, results, runner
from deterrence.model import SENSITIVITY_BINS
from deterrence.plan import make_plan

LAMBDA_C0 = 1 / 60.0
DAYS = 730  # the sensitivity outcomes are "within two years"


def one_uncertain_parameter(runs, seed):
    raw = {"study": {"name": "sens", "runs": runs, "seed": seed, "block_runs": 20_000},
           "grid": {"force_size": [0, 5000], "posture": ["contact_line"], "deploy_rule": ["after_ceasefire"],
                    "support": ["none"], "leverage": ["status_quo"]}}
    base = config.parse(raw)
    raw["priors"] = {p.name: {"dist": "fixed", "value": priors.summary(p)[0]} for p in base.priors}
    raw["priors"]["lambda_c0"] = {"dist": "fixed", "value": LAMBDA_C0}
    raw["priors"]["e_collapse"] = {"dist": "fixed", "value": 1.0}
    raw["priors"]["lambda_a0"] = {"dist": "gamma", "shape": 1.0, "scale": 0.002}
    return config.parse(raw)


def p_reattack(lam_a):
    """P(T_c + T_a < DAYS) with no force: hypo-exponential (rates differ a.s.)."""
    a, b = LAMBDA_C0, lam_a
    return 1 - (b * np.exp(-a * DAYS) - a * np.exp(-b * DAYS)) / (b - a)


def binned_index(prior):
    """Var over prior deciles of E[Y | decile] / Var(Y), by quadrature."""
    dist = priors.distribution(prior)
    edges = dist.ppf(np.linspace(0, 1, SENSITIVITY_BINS + 1))
    means = [integrate.quad(lambda x: p_reattack(x) * dist.pdf(x), lo, hi, limit=200)[0] * SENSITIVITY_BINS
             for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    overall = np.mean(means)
    return np.mean((np.array(means) - overall) ** 2) / (overall * (1 - overall))


def test_single_parameter_index_matches_quadrature():
    cfg = one_uncertain_parameter(runs=200_000, seed=17)
    plan = make_plan(cfg)
    assert list(plan.sensitivity_parameters) == [cfg.priors.index(cfg.prior("lambda_a0"))]
    # Ten independent batches of runs give the Monte Carlo standard error.
    estimates = []
    for start, stop in plan.blocks:
        tallies = runner.run_block(plan, start, stop)
        ds = results.build(cfg, make_plan(cfg), tallies)
        estimates.append(float(ds.sensitivity.sel(force_size=0, outcome="reattack_2y").squeeze()))
    total = runner.run_local(plan, workers=2, show_progress=False)
    ds = results.build(cfg, plan, total)
    estimate = float(ds.sensitivity.sel(force_size=0, outcome="reattack_2y").squeeze())
    se = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
    truth = binned_index(cfg.prior("lambda_a0"))
    assert 0.1 < truth < 0.6  # the parameter matters: a meaningful check
    print(f"index {estimate:.4f} quadrature {truth:.4f} se {se:.4f}")
    assert abs(estimate - truth) < 4 * se, (estimate, truth, se)
    # The ceasefire does not depend on lambda_a0: its index is noise around 0.
    assert float(ds.sensitivity.sel(force_size=0, outcome="ceasefire_2y").squeeze()) < 4 * se


def test_fixed_parameters_have_no_index():
    cfg = one_uncertain_parameter(runs=2_000, seed=1)
    ds = results.build(cfg, plan := make_plan(cfg), runner.run_local(plan, show_progress=False))
    assert list(ds.parameter.values) == ["lambda_a0"]
    assert ds.sensitivity_bin_mean.sizes["decile"] == SENSITIVITY_BINS
    assert np.nanmin(ds.sensitivity.values) >= 0
    assert np.isnan(ds.sensitivity.sel(force_size=0, outcome="deployed_2y")).all()  # never deployed: no variance
