"""The dataset: paired differences, units and provenance."""

import json

import numpy as np
import pytest
import xarray as xr

from deterrence import config, outcomes, results, runner, schema
from deterrence.model import YEARS
from deterrence.plan import make_plan


@pytest.fixture(scope="module")
def study_tallies():
    cfg = config.load("configs/study.toml").with_overrides(runs=20_000)
    plan = make_plan(cfg)
    return cfg, plan, runner.run_local(plan, show_progress=False)


@pytest.fixture(scope="module")
def default_study(study_tallies):
    cfg, plan, tallies = study_tallies
    return cfg, results.build(cfg, plan, tallies)


def test_paired_se_is_smaller_than_unpaired(default_study):
    """Common random numbers: the paired standard error of a difference to
    the baseline is well below the unpaired sqrt(se_option**2 + se_base**2)."""
    cfg, ds = default_study
    base = ds.sel(json.loads(ds.attrs["baseline"]))
    # (The baseline has no force, so no deployment and no tripwire: nothing to pair with there.)
    for word in ("ceasefire", "reattack"):
        paired = ds[f"diff_p_{word}_se"]
        unpaired = np.sqrt(ds[f"p_{word}_se"] ** 2 + base[f"p_{word}_se"] ** 2)
        differs = np.abs(ds[f"diff_p_{word}"]) > 0
        assert differs.sum() > 100
        ratio = (paired / unpaired).where(differs)
        assert float(ratio.max()) < 1.0, word
        assert float(ratio.median()) < 0.7, word
    paired = ds.diff_mean_strikes_se
    unpaired = np.sqrt(ds.mean_strikes_se ** 2 + base.mean_strikes_se ** 2)
    assert float((paired / unpaired).where(ds.diff_mean_strikes != 0).median()) < 0.7


def test_baseline_differences_are_zero_and_consistent(default_study):
    cfg, ds = default_study
    base = ds.sel(json.loads(ds.attrs["baseline"]))
    assert float(np.abs(base.diff_p_reattack).max()) == 0.0
    # The mean paired difference is the difference of the means, exactly.
    np.testing.assert_allclose(ds.diff_p_reattack, ds.p_reattack - base.p_reattack, atol=1e-12)
    np.testing.assert_allclose(ds.diff_mean_strikes, ds.mean_strikes - base.mean_strikes, rtol=1e-9)


def test_day_reads_back_as_whole_days(tmp_path, default_study):
    """Plain day numbers, not dates: the last bin means "not within the horizon"."""
    cfg, ds = default_study
    ds.isel(force_size=slice(0, 1)).to_netcdf(tmp_path / "d.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "d.nc") as back:
        assert back.day.dtype.kind == "i" and int(back.day[-1]) == cfg.study.horizon_days


def test_units_and_provenance(default_study):
    cfg, ds = default_study
    assert ds.sizes["day"] == cfg.study.horizon_days + 1
    assert ds.reattack_day.sum("day").equals(ds.runs)
    for name, var in ds.data_vars.items():
        assert "long_name" in var.attrs and "units" in var.attrs, name
    assert ds.attrs["config_sha256"] == cfg.sha256 and ds.attrs["config"] == cfg.text
    priors = json.loads(ds.attrs["priors"])
    assert priors["truce_shape"]["fit"] == "record" and priors["truce_shape"]["source"]
    assert ds.day.attrs["units"] == "days" and ds.day.attrs["reference_date"] == "2027-01-01"


def test_war_and_after_ceasefire_readings(default_study):
    """p_war from the histograms, and p_reattack_after_ceasefire from its
    tally, by hand."""
    cfg, ds = default_study
    option = dict(force_size=5000, posture="rear", deploy_rule="after_ceasefire", support="none",
                  leverage="status_quo")
    o = ds.sel(option)
    n = int(o.runs)
    ceasefires = int(o.first_ceasefire_day[:730].sum())
    reattacks = int(o.reattack_day[:730].sum())
    two = o.sel(years=2)
    assert float(two.p_war) == pytest.approx(1 - (ceasefires - reattacks) / n)
    qualifying = int(two.runs_after_ceasefire)
    # Qualifying: a ceasefire more than two years before the horizon (T_c < H - 730).
    assert qualifying == int(o.first_ceasefire_day[:cfg.study.horizon_days - 730].sum())
    p = float(two.p_reattack_after_ceasefire)
    assert 0 < p < 1
    # Runs of a draw share its parameters: the error over draws exceeds the runs' binomial one.
    assert float(two.p_reattack_after_ceasefire_se) > np.sqrt(p * (1 - p) / qualifying)


def test_every_declared_variable_is_built_with_its_words(default_study):
    """Both sides of deterrence.outcomes: every variable it declares is in
    the dataset with the declared long_name and units, and the dataset has
    no variable it does not declare."""
    cfg, ds = default_study
    declared = outcomes.variables()
    assert set(ds.data_vars) == set(declared)
    for name, attrs in declared.items():
        assert ds[name].attrs == attrs, name
    assert set(schema.required_variables()) == set(declared) - set(outcomes.OPTIONAL_VARIABLES)


def test_paired_tally_layout_matches_the_declarations(study_tallies):
    """The kernel pairs each indicator (events, at war) at each year, then
    the paired counts in the order of model.PAIRED_COUNTS: the declarations
    must say as many."""
    cfg, plan, tallies = study_tallies
    assert tallies.paired.shape[1] == len(outcomes.indicators()) * len(YEARS) + len(outcomes.paired_counts())
    assert tallies.draw_hist.shape[1] == len(outcomes.indicators()) * len(YEARS)
    assert tallies.value_hist.shape[1] == 2 * len(outcomes.paired_counts())
    assert tallies.moments.shape[1] == len(outcomes.counts())
    assert tallies.hist.shape[1] == len(outcomes.events())
