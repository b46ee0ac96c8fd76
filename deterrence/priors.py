"""Priors as arrays for the kernels and as scipy distributions for checks."""

import numpy as np

from deterrence.families import N_ARGS, family
from deterrence.model import Prior


def encode(priors: tuple[Prior, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Family codes (int64) and hyperparameters (float64, ``N_ARGS`` per
    prior, in the family's order, missing optional ones 0)."""
    codes = np.empty(len(priors), dtype=np.int64)
    args = np.zeros((len(priors), N_ARGS))
    for i, prior in enumerate(priors):
        fam = family(prior.dist)
        codes[i] = fam.code
        args[i, :len(fam.keys)] = [prior.get(key) for key in fam.keys]
    return codes, args


def distribution(prior: Prior):
    """The prior as a frozen ``scipy.stats`` distribution (None for fixed)."""
    return family(prior.dist).scipy(prior)


def summary(prior: Prior) -> tuple[float, float, float]:
    """Mean and 90% interval of a prior."""
    dist = distribution(prior)
    if dist is None:
        value = family(prior.dist).support(prior)[0]
        return value, value, value
    low, high = dist.ppf([0.05, 0.95])
    return float(dist.mean()), float(low), float(high)


# What a prior rests on, in the order the checks run: a fit to the record in
# seeds/, a judgment (the source says so; anchored or not on the
# literature), a value from the literature, a scale or fixed choice.
RECORD, JUDGMENT, LITERATURE, CHOICE = "record", "judgment", "literature", "choice"


def basis(prior: Prior) -> str:
    """RECORD, JUDGMENT, LITERATURE or CHOICE: what ``prior`` rests on, read
    from its fit and its source; a source that names none is judgment."""
    source = prior.source.lower()
    if prior.fit == "record" or source.startswith("fitted"):
        return RECORD
    if "judgment" in source:
        return JUDGMENT
    if source.startswith("seeds/literature.csv"):
        return LITERATURE
    if prior.dist == "fixed" or source.startswith(("scale choice", "fixed")):
        return CHOICE
    return JUDGMENT


def quantile_edges(prior: Prior, bins: int) -> np.ndarray:
    """Inner edges of ``bins`` bins of equal prior probability."""
    return distribution(prior).ppf(np.arange(1, bins) / bins)
