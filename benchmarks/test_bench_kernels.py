"""Micro and macro benchmarks (pytest-benchmark).

Skipped in the default run (pyproject sets ``--benchmark-skip``); run them with

    pytest benchmarks --benchmark-only

and compare against a saved baseline with ``--benchmark-save=NAME`` and
``--benchmark-compare``. Per-unit numbers (ns per variate, run-options per
second) are in each benchmark's ``extra_info``, computed from the median
round. No test asserts a timing.
"""

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from benchmarks import floor
from deterrence import cli, config, runner, tallies
from deterrence.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]

STUDY = ROOT / "configs" / "study.toml"
LAPTOP = ROOT / "configs" / "laptop.toml"
KEY = (0x01352AC5, 0x00000000)
N_VARIATES = 1_000_000
KERNEL_RUNS = 200
LAPTOP_RUNS = 20_000


def median_seconds(benchmark) -> float | None:
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats is not None else None


def per_unit(benchmark, units: float, **info) -> None:
    """Record ns per unit and units per second in extra_info."""
    seconds = median_seconds(benchmark)
    benchmark.extra_info.update(info)
    if seconds:
        benchmark.extra_info["ns_per_unit"] = seconds / units * 1e9
        benchmark.extra_info["units_per_s"] = units / seconds


@pytest.fixture(scope="module")
def study_plan():
    plan = make_plan(config.load(STUDY))
    runner.run_block(plan, 0, 2)      # compile (or load the numba cache) outside the timing
    return plan


def test_kernel_study_grid(benchmark, study_plan):
    """The kernel on one thread on the study grid (240 options + baseline)."""
    n_opt = study_plan.options.shape[0]
    benchmark(runner.run_block, study_plan, 0, KERNEL_RUNS)
    per_unit(benchmark, KERNEL_RUNS * n_opt, unit="run-option", runs=KERNEL_RUNS, options=n_opt)
    seconds = median_seconds(benchmark)
    if seconds:
        benchmark.extra_info["runs_per_s"] = KERNEL_RUNS / seconds


def test_floor_study_grid(benchmark, study_plan):
    """The RNG-only floor on the same runs (kernel efficiency = floor / kernel)."""
    fl = floor.Floor(study_plan, 0, KERNEL_RUNS)
    fl.run()
    n_opt = study_plan.options.shape[0]
    benchmark(fl.run)
    per_unit(benchmark, KERNEL_RUNS * n_opt, unit="run-option", runs=KERNEL_RUNS, options=n_opt)


def test_philox_uniform(benchmark):
    floor.sum_uniforms(*KEY, 10)
    benchmark(floor.sum_uniforms, *KEY, N_VARIATES)
    per_unit(benchmark, N_VARIATES, unit="uniform")


@pytest.mark.parametrize("shape", [0.5, 2.5, 300.0])
def test_gamma(benchmark, shape):
    floor.sum_gammas(*KEY, 10, shape, 1.0)
    benchmark(floor.sum_gammas, *KEY, N_VARIATES, shape, 1.0)
    per_unit(benchmark, N_VARIATES, unit="gamma", shape=shape)


@pytest.mark.parametrize("mean", [3.0, 1000.0], ids=["small-mean", "large-mean"])
def test_poisson(benchmark, mean):
    floor.sum_poissons(*KEY, 10, mean)
    benchmark(floor.sum_poissons, *KEY, N_VARIATES, mean)
    per_unit(benchmark, N_VARIATES, unit="poisson", mean=mean)


def test_negative_binomial(benchmark):
    floor.sum_negative_binomials(*KEY, 10, 50.0, 0.8)
    benchmark(floor.sum_negative_binomials, *KEY, N_VARIATES, 50.0, 0.8)
    per_unit(benchmark, N_VARIATES, unit="negative binomial", mean=50.0, k=0.8)


@pytest.fixture(scope="module")
def study_tallies(study_plan):
    return runner.run_block(study_plan, 0, 50), runner.run_block(study_plan, 50, 100)


def test_tallies_iadd(benchmark, study_tallies):
    """Adding two study-sized block tallies (what the runner does per block)."""
    a, b = study_tallies
    total = copy.deepcopy(a)
    benchmark(total.__iadd__, b)
    nbytes = sum(int(getattr(a, f.name).nbytes) for f in dataclasses.fields(a)
                 if isinstance(getattr(a, f.name), np.ndarray))
    per_unit(benchmark, 1, unit="block addition", bytes=nbytes)


@pytest.mark.parametrize("which", ["moments", "paired"])
def test_moment_sums(benchmark, study_tallies, which):
    a, _ = study_tallies
    array = getattr(a, which)
    total, squares = benchmark(tallies.moment_sums, array)
    assert total.shape == squares.shape == array.shape[:-1]
    per_unit(benchmark, array[..., 0].size, unit="moment", shape=list(array.shape))


def test_end_to_end_laptop(benchmark, tmp_path, capsys):
    """The CLI on configs/laptop.toml with a reduced --runs (all local cores)."""
    out = tmp_path / "laptop.nc"
    argv = ["run", str(LAPTOP), "--runs", str(LAPTOP_RUNS), "--out", str(out), "--overwrite"]
    assert cli.main(argv) == 0      # compile and warm outside the timing
    rc = benchmark.pedantic(cli.main, args=(argv,), rounds=3, iterations=1)
    assert rc == 0 and out.exists()
    capsys.readouterr()
    n_opt = len(config.load(LAPTOP).options) + 1
    per_unit(benchmark, LAPTOP_RUNS * n_opt, unit="run-option", runs=LAPTOP_RUNS, options=n_opt)
    assert np.isfinite(median_seconds(benchmark) or 0.0)
