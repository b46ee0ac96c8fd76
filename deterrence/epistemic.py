"""Parameter (epistemic) uncertainty from the nested design, apart from chance.

A study with ``study.runs_per_draw = n > 1`` gives every draw theta of the
uncertain parameters n runs of its own (run r has draw r // n). Per draw
the kernel counts k, the runs with an event within y years, and keeps only
the histogram of k over draws (and of k minus the baseline's k): fixed size,
exact integers, flat in the number of runs.

The per-draw estimate x = k / n is the draw's conditional probability
P(event within y | theta) plus binomial noise, so the spread of x over draws
is wider than the spread of the conditional probability itself, and its
quantiles are biased outward. The correction used here (documented in
docs/model.md, "Parameter uncertainty"): the noise variance is estimated
without bias from within the draws (E[s^2] / n, with s^2 the draws' sample
variances), subtracted from the variance of x to give Var(P(. | theta)),
and the draws' estimates are shrunk towards their mean by
sqrt(Var(P(. | theta)) / Var(x)) before quantiles are read. The shrunk
sample has exactly the mean and the variance of the conditional
probabilities; it is exact for a location-scale family and its remaining
error vanishes as n grows (tests/test_epistemic.py checks it against closed
forms and brute-force nested simulation). Monte Carlo errors come from a
bootstrap over draws.
"""

import numpy as np

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# The fewest parameter draws whose 5th and 95th percentiles are shown: with
# fewer, a handful of draws sit beyond each and the interval is mostly chance
# (with 2 draws it collapses onto them). Every table reads this one number.
MIN_DRAWS = 200
BOOTSTRAP = 100          # bootstrap replicates for the Monte Carlo errors
# Replicates for every option's quantile errors in a result: 40 make each
# error good to about 11% (sqrt(1 / (2 (40 - 1)))) and keep a result of the
# full default grid (2,892 histogram rows of each kind) to a few seconds.
SUMMARY_BOOTSTRAP = 40
BOOTSTRAP_SEED = 20270101


def spread(weights: np.ndarray, values: np.ndarray, noise: float) -> tuple[float, float, float]:
    """Mean, variance of the draws' estimates, and the shrink factor
    sqrt(max(variance - noise, 0) / variance) (0 when the estimates do not
    vary). ``weights`` counts draws at each of ``values``; ``noise`` is the
    mean noise variance of one draw's estimate."""
    total = weights.sum()
    mean = float(weights @ values / total)
    variance = float(weights @ (values - mean) ** 2 / max(total - 1, 1))
    factor = np.sqrt(max(variance - noise, 0.0) / variance) if variance > 0 else 0.0
    return mean, variance, float(factor)


def _cdf_points(weights: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of the estimates as (value, mid-point cumulative
    share) pairs of the values that occur, for interpolation."""
    seen = weights > 0
    w, x = weights[seen], values[seen]
    return x, (np.cumsum(w) - w / 2) / w.sum()


def shrunk_quantiles(weights: np.ndarray, values: np.ndarray, noise: float,
                     probs=QUANTILES) -> np.ndarray:
    """Quantiles of the conditional probabilities (or effects) over draws,
    debiased by shrinking the estimates (see the module's text)."""
    mean, _, factor = spread(weights, values, noise)
    x, cdf = _cdf_points(weights, values)
    return mean + factor * (np.interp(probs, cdf, x) - mean)


def shrunk_share_below(weights: np.ndarray, values: np.ndarray, noise: float, threshold: float = 0.0) -> float:
    """The share of draws whose (shrunk) effect is below ``threshold``."""
    mean, _, factor = spread(weights, values, noise)
    if factor == 0.0:
        return float(mean < threshold)
    x, cdf = _cdf_points(weights, values)
    return float(np.interp(mean + (threshold - mean) / factor, x, cdf, left=0.0, right=1.0))


def probability_noise(weights: np.ndarray, n: int) -> float:
    """Mean noise variance of k / n: E[s^2] / n with s^2 = k (n - k) / (n (n - 1))."""
    k = np.arange(weights.size)
    return float(weights @ (k * (n - k)) / (n * (n - 1)) / weights.sum() / n)


def difference_noise(weights: np.ndarray, n: int, discordant: float) -> float:
    """Mean noise variance of a draw's paired difference (k_A - k_B) / n,
    from its histogram (offset n) and the total number of discordant runs
    (the sum of the squared per-run differences): E[s^2] / n with
    s^2 = (sum d^2 - n xbar^2) / (n - 1)."""
    x = (np.arange(weights.size) - n) / n
    draws = weights.sum()
    within = (discordant / draws - n * float(weights @ x**2) / draws) / (n - 1)
    return max(within, 0.0) / n


def probability_values(n: int) -> np.ndarray:
    return np.arange(n + 1) / n


def difference_values(n: int) -> np.ndarray:
    return (np.arange(2 * n + 1) - n) / n


def bootstrap(weights: np.ndarray, statistic, reps: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """The standard deviation over ``reps`` resamples of the draws (a
    multinomial resample of the histogram) of ``statistic(weights)``."""
    total = int(weights.sum())
    gen = np.random.default_rng(seed)
    samples = gen.multinomial(total, weights / total, size=reps)
    return np.std([statistic(s) for s in samples], axis=0, ddof=1)


def _batch(weights: np.ndarray, values: np.ndarray, noise: np.ndarray, probs, threshold: float | None = None):
    """:func:`shrunk_quantiles` (and :func:`shrunk_share_below` of
    ``threshold``) for every row of ``weights`` (rows, bins) at once, with
    each row's ``noise``: the same numbers, vectorised for the bootstrap."""
    total = weights.sum(axis=1)
    mean = weights @ values / total
    variance = (weights * (values - mean[:, None]) ** 2).sum(axis=1) / np.maximum(total - 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(variance > 0, np.sqrt(np.maximum(variance - noise, 0.0) / variance), 0.0)
    bins = weights.shape[1]
    index = np.arange(bins)
    seen = weights > 0
    mid = (np.cumsum(weights, axis=1) - weights / 2) / total[:, None]
    last = np.maximum.accumulate(np.where(seen, index, -1), axis=1)        # last seen bin <= k
    filled = np.where(last >= 0, np.take_along_axis(mid, np.maximum(last, 0), axis=1), -np.inf)
    probs = np.asarray(probs, dtype=float)
    j = (filled[:, None, :] < probs[None, :, None]).sum(axis=2)             # first seen bin with mid >= p
    top = last[:, -1:]
    i = np.where(j > 0, np.take_along_axis(last, np.maximum(j - 1, 0), axis=1), -1)
    jc = np.minimum(j, bins - 1)
    mid_i = np.take_along_axis(mid, np.maximum(i, 0), axis=1)
    mid_j = np.take_along_axis(mid, jc, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = values[np.maximum(i, 0)] + (values[jc] - values[np.maximum(i, 0)]) * (probs - mid_i) / (mid_j - mid_i)
    x = np.where(i < 0, values[jc], x)
    x = np.where(j >= bins, values[np.broadcast_to(top, x.shape)], x)
    quantiles = mean[:, None] + factor[:, None] * (x - mean[:, None])
    if threshold is None:
        return quantiles, None
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(factor > 0, mean + (threshold - mean) / np.where(factor > 0, factor, 1.0), 0.0)
    nxt = np.minimum.accumulate(np.where(seen, index, bins)[:, ::-1], axis=1)[:, ::-1]   # first seen bin >= k
    p = np.searchsorted(values, t, side="right")
    rows = np.arange(weights.shape[0])
    i = np.where(p > 0, last[rows, np.maximum(p - 1, 0)], -1)
    j = np.where(p < bins, nxt[rows, np.minimum(p, bins - 1)], bins)
    ic, jc = np.maximum(i, 0), np.minimum(j, bins - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = mid[rows, ic] + (mid[rows, jc] - mid[rows, ic]) * (t - values[ic]) / (values[jc] - values[ic])
    share = np.where(i < 0, 0.0, np.where(j >= bins, np.where(values[ic] == t, mid[rows, ic], 1.0), inside))
    share = np.where(factor > 0, share, (mean < threshold).astype(float))
    return quantiles, share


def _resample(weights: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """``reps`` multinomial resamples of the draws of one histogram row
    (only its non-empty bins), with the bootstrap's fixed seed."""
    total = int(weights.sum())
    return np.random.default_rng(seed).multinomial(total, weights / total, size=reps).astype(np.float64)


def event_summary(hist: np.ndarray, n: int, probs=QUANTILES, reps: int = SUMMARY_BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a draw histogram (..., n + 1): the debiased quantiles of the
    conditional probability (..., probs), their Monte Carlo errors, and the
    standard error of the mean probability over draws (..., )."""
    lead = hist.shape[:-1]
    q = np.empty(lead + (len(probs),))
    q_se = np.empty_like(q)
    for index in np.ndindex(lead):
        seen = hist[index] > 0
        w = hist[index][seen].astype(np.float64)
        k = np.flatnonzero(seen)
        values = k / n

        def quantiles(rows, k=k, values=values):
            noise = rows @ (k * (n - k)) / (n * (n - 1)) / rows.sum(axis=1) / n
            return _batch(rows, values, noise, probs)[0]
        q[index] = quantiles(w[None])[0]
        q_se[index] = np.std(quantiles(_resample(w, reps, BOOTSTRAP_SEED)), axis=0, ddof=1)
    return q, q_se, mean_se(hist, probability_values(n))


def difference_summary(hist: np.ndarray, n: int, discordant: np.ndarray, probs=QUANTILES,
                       reps: int = SUMMARY_BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a paired draw histogram (..., 2 n + 1) and the discordant runs
    (...): the debiased quantiles of the conditional effect (..., probs),
    their Monte Carlo errors, the share of draws with an effect below 0 and
    its Monte Carlo error, and the standard error of the mean effect."""
    lead = hist.shape[:-1]
    q = np.empty(lead + (len(probs),))
    q_se = np.empty_like(q)
    below = np.empty(lead)
    below_se = np.empty(lead)
    for index in np.ndindex(lead):
        seen = hist[index] > 0
        w = hist[index][seen].astype(np.float64)
        values = (np.flatnonzero(seen) - n) / n
        noise = difference_noise(hist[index].astype(np.float64), n, float(discordant[index]))
        found, share = _batch(w[None], values, np.array([noise]), probs, 0.0)
        q[index], below[index] = found[0], share[0]
        again, shares = _batch(_resample(w, reps, BOOTSTRAP_SEED), values, np.full(reps, noise), probs, 0.0)
        q_se[index] = np.std(again, axis=0, ddof=1)
        below_se[index] = np.std(shares, ddof=1)
    return q, q_se, below, below_se, mean_se(hist, difference_values(n))


def value_values() -> np.ndarray:
    """The draw mean each bin of a count's draw histogram stands for (model.VALUE_BINS)."""
    from deterrence.model import VALUE_BIN_HALF, VALUE_BIN_K, VALUE_BINS
    return np.sinh((np.arange(VALUE_BINS) - VALUE_BIN_HALF) / VALUE_BIN_K)


def value_summary(hist: np.ndarray, within: np.ndarray, n: int, probs=QUANTILES,
                  reps: int = SUMMARY_BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a count's draw histogram (..., model.VALUE_BINS) of draw means (or
    of paired differences) and the draws' total within sum of squared
    deviations (...), in the count's unit squared: the debiased quantiles of
    the conditional mean (..., probs), their Monte Carlo errors, the share
    of draws whose conditional value is below 0 (for a difference:
    p_better, the counts being harms) and its error, and the standard error
    of the mean over draws. Each draw's mean is read at its bin
    (1/VALUE_BIN_K wide near 0, about 1% of the value elsewhere); the noise
    variance of a draw's mean is E[s^2] / n, with s^2 = within / (n - 1)."""
    draws = hist.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.where(draws > 0, within / np.maximum(draws, 1) / max(n * (n - 1), 1), np.nan)
    if n < 2:
        noise[...] = np.nan
    return binned_summary(hist, noise, value_values(), probs, reps)


def ratio_values() -> np.ndarray:
    """The value each bin of a per-draw ratio histogram stands for
    (model.AFTER_SCALE; the last bin, undefined draws, is left out)."""
    from deterrence.model import AFTER_SCALE, AFTER_UNDEFINED
    return (np.arange(AFTER_UNDEFINED) - AFTER_SCALE) / AFTER_SCALE


def ratio_summary(hist: np.ndarray, noise_sum: np.ndarray, probs=QUANTILES,
                  reps: int = SUMMARY_BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a per-draw ratio histogram (..., model.AFTER_BINS) (the last bin:
    draws where the ratio is undefined, left out) and the sum of the
    defined draws' noise variances (...): as :func:`value_summary`, over the
    defined draws."""
    defined = hist[..., :-1]
    draws = defined.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.where(draws > 0, noise_sum / np.maximum(draws, 1), np.nan)
    return binned_summary(defined, noise, ratio_values(), probs, reps)


def binned_summary(hist: np.ndarray, noise: np.ndarray, grid: np.ndarray, probs=QUANTILES,
                   reps: int = SUMMARY_BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For draw histograms (..., bins) of draw estimates that stand for the
    values ``grid`` and the mean noise variance of one draw's estimate
    (...; NaN: no summary): the debiased quantiles (..., probs), their
    Monte Carlo errors, the share of draws below 0 and its error, and the
    standard error of the mean over draws (NaN where no draw)."""
    lead = hist.shape[:-1]
    q = np.full(lead + (len(probs),), np.nan)
    q_se = np.full_like(q, np.nan)
    below = np.full(lead, np.nan)
    below_se = np.full(lead, np.nan)
    for index in np.ndindex(lead):
        if hist[index].sum() == 0 or not np.isfinite(noise[index]):
            continue
        seen = hist[index] > 0
        w = hist[index][seen].astype(np.float64)
        values = grid[seen]
        noise_i = float(noise[index])
        found, share = _batch(w[None], values, np.array([noise_i]), probs, 0.0)
        again, shares = _batch(_resample(w, reps, BOOTSTRAP_SEED), values, np.full(reps, noise_i), probs, 0.0)
        q[index], below[index] = found[0], share[0]
        q_se[index] = np.std(again, axis=0, ddof=1)
        below_se[index] = np.std(shares, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return q, q_se, below, below_se, mean_se(hist, grid)


def mean_se(hist: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of the mean over all runs, from the draws'
    estimates (runs of one draw share its parameters, so the draws, not the
    runs, are the independent units): sd(x) / sqrt(draws)."""
    draws = hist.sum(axis=-1)
    # Row by row (not a matrix product), so a row's result does not depend
    # on the rows beside it: compare and results agree bit for bit.
    mean = (hist * values).sum(axis=-1) / draws
    variance = ((hist * values**2).sum(axis=-1) - draws * mean**2) / np.maximum(draws - 1, 1)
    return np.sqrt(np.maximum(variance, 0.0) / draws)
