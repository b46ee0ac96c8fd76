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
BOOTSTRAP = 100          # bootstrap replicates for the Monte Carlo errors
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


def event_summary(hist: np.ndarray, n: int, probs=QUANTILES, reps: int = BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a draw histogram (..., n + 1): the debiased quantiles of the
    conditional probability (..., probs), their Monte Carlo errors, and the
    standard error of the mean probability over draws (..., )."""
    values = probability_values(n)
    lead = hist.shape[:-1]
    q = np.empty(lead + (len(probs),))
    q_se = np.empty_like(q)
    for index in np.ndindex(lead):
        w = hist[index].astype(np.float64)

        def quantiles(w, values=values):
            return shrunk_quantiles(w, values, probability_noise(w, n), probs)
        q[index] = quantiles(w)
        q_se[index] = bootstrap(w, quantiles, reps)
    return q, q_se, mean_se(hist, values)


def difference_summary(hist: np.ndarray, n: int, discordant: np.ndarray, probs=QUANTILES,
                       reps: int = BOOTSTRAP) -> tuple[np.ndarray, ...]:
    """For a paired draw histogram (..., 2 n + 1) and the discordant runs
    (...): the debiased quantiles of the conditional effect (..., probs),
    their Monte Carlo errors, the share of draws with an effect below 0 and
    its Monte Carlo error, and the standard error of the mean effect."""
    values = difference_values(n)
    lead = hist.shape[:-1]
    q = np.empty(lead + (len(probs),))
    q_se = np.empty_like(q)
    below = np.empty(lead)
    below_se = np.empty(lead)
    for index in np.ndindex(lead):
        w = hist[index].astype(np.float64)
        noise = difference_noise(w, n, float(discordant[index]))

        def both(w, values=values, noise=noise):
            return np.append(shrunk_quantiles(w, values, noise, probs), shrunk_share_below(w, values, noise))
        found = both(w)
        spread_se = bootstrap(w, both, reps)
        q[index], below[index] = found[:-1], found[-1]
        q_se[index], below_se[index] = spread_se[:-1], spread_se[-1]
    return q, q_se, below, below_se, mean_se(hist, values)


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
