"""Priors as arrays for the kernels and as scipy distributions for checks."""

import numpy as np
from scipy import stats

from deterrence.config import FAMILIES
from deterrence.kernels import FAMILY_CODES
from deterrence.model import Prior


def encode(priors: tuple[Prior, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Family codes (int64) and hyperparameters (float64, 3 per prior, in
    the order of ``config.FAMILIES``, missing optional ones 0)."""
    family = np.array([FAMILY_CODES[p.dist] for p in priors], dtype=np.int64)
    args = np.zeros((len(priors), 3))
    for i, prior in enumerate(priors):
        required, optional = FAMILIES[prior.dist]
        for j, key in enumerate(required + optional):
            args[i, j] = prior.get(key)
    return family, args


def distribution(prior: Prior):
    """The prior as a frozen ``scipy.stats`` distribution (None for fixed)."""
    g = prior.get
    if prior.dist == "fixed":
        return None
    if prior.dist == "gamma":
        return stats.gamma(g("shape"), loc=g("loc"), scale=g("scale"))
    if prior.dist == "lognormal":
        return stats.lognorm(g("sigma"), loc=g("loc"), scale=g("median"))
    if prior.dist == "beta":
        return stats.beta(g("a"), g("b"))
    return stats.uniform(g("low"), g("high") - g("low"))


def summary(prior: Prior) -> tuple[float, float, float]:
    """Mean and 90% interval of a prior."""
    dist = distribution(prior)
    if dist is None:
        value = prior.get("value")
        return value, value, value
    low, high = dist.ppf([0.05, 0.95])
    return float(dist.mean()), float(low), float(high)


def quantile_edges(prior: Prior, bins: int) -> np.ndarray:
    """Inner edges of ``bins`` bins of equal prior probability."""
    return distribution(prior).ppf(np.arange(1, bins) / bins)
