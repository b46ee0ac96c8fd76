"""Statistical and exactness tests of the RNG: Philox4x32-10 against its
known answers, every sampler against scipy, streams and their faults.

All seeds are fixed, so every test is deterministic. A goodness-of-fit test
(KS, chi-square) passes when its p-value exceeds ALPHA = 1e-4 (see
helpers.ALPHA); a mean or a proportion passes within 4.5 standard errors.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ALPHA, ROOT, assert_proportions, fresh_python
from numba import njit
from scipy import stats

from deterrence import config, rng, runner
from deterrence.plan import make_plan, seed_key

KEY = seed_key(20240917)


@pytest.mark.parametrize("counter, key, expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(counter, key, expected):
    """Random123's known-answer vectors for Philox4x32-10."""
    out = rng.philox4x32(*(np.uint64(w) for w in counter), *(np.uint64(w) for w in key))
    assert tuple(int(w) for w in out) == expected


def test_uniform_extreme_words_stay_inside_unit_interval():
    st = rng.new_state()
    st[6:10] = np.array([0, 0xFFFFFFFF, 0, 0xFFFFFFFF], dtype=np.uint64)
    st[10] = 0          # buffer position: the next draws read these words
    lowest, highest = rng.uniform(st), rng.uniform(st)
    assert 0.0 < lowest < 1e-9
    assert 1.0 - 1e-9 < highest < 1.0
    st[6:10] = np.array([0, 0xFFFFFFFF, 0, 0xFFFFFFFF], dtype=np.uint64)
    st[10] = 0
    assert 0.0 < rng.exponential(st) < math.inf
    assert 0.0 < rng.exponential(st) < math.inf


# Sampler codes of the fill helper.
UNIFORM, EXPONENTIAL, NORMAL, GAMMA, POISSON, NEGBIN = range(6)


@njit
def fill(kind, n, a, b, key0, key1, run, stream_id):
    """n draws of one sampler from one stream."""
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, run, stream_id)
    out = np.empty(n)
    for i in range(n):
        if kind == UNIFORM:
            out[i] = rng.uniform(st)
        elif kind == EXPONENTIAL:
            out[i] = rng.exponential(st)
        elif kind == NORMAL:
            out[i] = rng.normal(st)
        elif kind == GAMMA:
            out[i] = rng.gamma(st, a, b)
        elif kind == POISSON:
            out[i] = rng.poisson(st, a)
        else:
            out[i] = rng.negative_binomial(st, a, b)
    return out


def test_uniform_large_sample_open_interval():
    u = fill(UNIFORM, 2_000_000, 0.0, 0.0, KEY[0], KEY[1], 3, 7)
    assert u.min() > 0.0 and u.max() < 1.0
    # mean of U(0,1): SE = sqrt(1/12 / n); 4.5 SE
    assert abs(u.mean() - 0.5) < 4.5 * math.sqrt(1 / 12 / u.size)


@pytest.mark.parametrize("kind, a, b, dist", [
    (UNIFORM, 0, 0, stats.uniform()),
    (EXPONENTIAL, 0, 0, stats.expon()),
    (NORMAL, 0, 0, stats.norm()),
    (GAMMA, 0.3, 2.0, stats.gamma(0.3, scale=2.0)),
    (GAMMA, 1.0, 2.0, stats.gamma(1.0, scale=2.0)),
    (GAMMA, 4.5, 2.0, stats.gamma(4.5, scale=2.0)),
    (GAMMA, 0.02, 1.0, stats.gamma(0.02)),
], ids=["uniform", "exponential", "normal", "gamma0.3", "gamma1", "gamma4.5", "gamma0.02"])
def test_continuous_samplers_ks(kind, a, b, dist):
    x = fill(kind, 50_000, a, b, KEY[0], KEY[1], 11, 5)
    assert stats.kstest(x, dist.cdf).pvalue > ALPHA


def chisquare_discrete(x, dist, quantiles=40):
    """Chi-square goodness of fit of integer draws, bins at the distribution's
    quantiles (each with hundreds of expected counts)."""
    edges = np.unique(dist.ppf(np.linspace(0, 1, quantiles + 1)[1:-1]))
    probs = np.diff(np.concatenate([[0.0], dist.cdf(edges), [1.0]]))
    # bin i holds edges[i-1] < x <= edges[i]
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
    expected = probs * len(x)
    assert expected.min() > 5
    return stats.chisquare(counts, expected).pvalue


@pytest.mark.parametrize("kind, a, b, dist", [
    (POISSON, 0.05, 0, stats.poisson(0.05)),
    (POISSON, 3.0, 0, stats.poisson(3.0)),
    (POISSON, 9.9, 0, stats.poisson(9.9)),
    (POISSON, 10.0, 0, stats.poisson(10.0)),
    (POISSON, 40.0, 0, stats.poisson(40.0)),
    (POISSON, 1e5, 0, stats.poisson(1e5)),
    (NEGBIN, 5.0, 0.7, stats.nbinom(0.7, 0.7 / (0.7 + 5.0))),
    (NEGBIN, 200.0, 3.0, stats.nbinom(3.0, 3.0 / (3.0 + 200.0))),
], ids=["poisson0.05", "poisson3", "poisson9.9", "poisson10", "poisson40", "poisson1e5",
        "negbin5", "negbin200"])
def test_discrete_samplers_chisquare(kind, a, b, dist):
    x = fill(kind, 50_000, a, b, KEY[0], KEY[1], 13, 9)
    assert np.all(x == np.round(x)) and x.min() >= 0
    assert chisquare_discrete(x, dist) > ALPHA


def test_streams_are_distinct_and_reproducible():
    a = fill(UNIFORM, 8, 0, 0, KEY[0], KEY[1], 5, 1)
    assert np.array_equal(a, fill(UNIFORM, 8, 0, 0, KEY[0], KEY[1], 5, 1))
    assert not np.any(a == fill(UNIFORM, 8, 0, 0, KEY[0], KEY[1], 5, 2))
    assert not np.any(a == fill(UNIFORM, 8, 0, 0, KEY[0], KEY[1], 6, 1))
    assert not np.any(a == fill(UNIFORM, 8, 0, 0, KEY[0], KEY[1] + 1, 5, 1))


@njit
def beta_draws(n, a, b, key0, key1):
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, 0, 7)
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.beta(st, a, b)
    return out


@pytest.mark.parametrize("a, b", [(1e-3, 3e-3), (0.05, 0.02), (1e-300, 2e-300)])
def test_beta_with_tiny_shapes(a, b):
    """The gamma draws underflow to 0 here (0 / 0 before): draws are finite,
    in [0, 1], with the mean and P(X < 1/2) of scipy's Beta within 4.5 SE."""
    n = 20_000
    x = beta_draws(n, a, b, *KEY)
    assert np.all(np.isfinite(x)) and np.all((x >= 0.0) & (x <= 1.0))
    mean = a / (a + b)
    sd = math.sqrt(mean * (1.0 - mean) / (a + b + 1.0))   # scipy's std is NaN at 1e-300
    assert abs(x.mean() - mean) < 4.5 * sd / math.sqrt(n)
    assert_proportions([np.mean(x < 0.5)], [stats.beta(a, b).cdf(0.5)], n)


def test_beta_unchanged_for_ordinary_shapes():
    """Draws the old X / (X + Y) gave, bit for bit, where nothing underflows."""
    @njit
    def old(n, a, b, key0, key1):
        st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
        rng.stream(st, key0, key1, 0, 7)
        out = np.empty(n)
        for i in range(n):
            x = rng.gamma(st, a, 1.0)
            out[i] = x / (x + rng.gamma(st, b, 1.0))
        return out

    for a, b in ((0.5, 0.7), (2.0, 38.0)):
        assert np.array_equal(beta_draws(2000, a, b, *KEY), old(2000, a, b, *KEY))


def test_samplers_fault_instead_of_hanging():
    """NaN and infinite inputs end at once in the fault values (NaN, -1)."""
    st = rng.new_state()
    rng.stream(st, KEY[0], KEY[1], 0, 1)
    assert math.isnan(rng.gamma(st, math.nan, 1.0)) and math.isnan(rng.gamma(st, math.inf, 1.0))
    assert rng.poisson(st, math.nan) == -1 and rng.poisson(st, math.inf) == -1
    assert rng.poisson(st, 1e300) == -1
    assert math.isnan(rng.beta(st, math.nan, 1.0))


def test_import_leaves_numba_cache_dir_alone():
    """The digest-keyed cache folder applies to this package's functions
    only: importing it does not change numba's folder for the process."""
    code = ("import numba; before = numba.config.CACHE_DIR; import deterrence.kernels, deterrence.rng as r; "
            "assert numba.config.CACHE_DIR == before, numba.config.CACHE_DIR; "
            "loc = r._CacheLocator.from_function(deterrence.kernels.simulate.py_func, deterrence.kernels.__file__); "
            "assert loc.get_cache_path().startswith(r.CACHE_DIR); "
            "assert r._CacheLocator.from_function(r.new_state, numba.__file__) is None")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_a_run_says_when_it_compiles_the_kernels(tmp_path):
    """With an empty cache folder the kernels are not cached (a study says
    it compiles first); once a block has run here they are."""
    out = fresh_python("from deterrence import kernels; print(kernels.cached())", NUMBA_CACHE_DIR=str(tmp_path))
    assert out.returncode == 0 and out.stdout.split() == ["False"], out.stderr
    from deterrence import kernels
    runner.run_block(make_plan(config.load(ROOT / "configs" / "laptop.toml")), 0, 0)
    assert kernels.cached()
