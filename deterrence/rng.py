"""Counter-based random numbers: Philox4x32-10 and samplers fed by it.

Every draw of a study is addressed by (study seed, run index, event stream,
counter), so a run sees the same numbers whatever the block, thread or
worker that computes it, and the same numbers for the same event in every
option (common random numbers).

A stream's state is a small ``uint64`` array (see :func:`stream`): the
Philox counter (run low word, run high word, stream id, block counter), the
key (two seed words), a buffer of four outputs and the buffer position.
"""

import hashlib
import math
import os
import tempfile
from pathlib import Path

import numba
import numpy as np
from numba import njit
from numba.core.caching import CacheImpl, UserProvidedCacheLocator


def _cache_dir() -> str:
    """Numba's on-disk cache notices changes to a function's own file only,
    not to the jitted functions it calls in other files or to the constants
    it imports. Keying the cache folder on the sources of every module that
    compiled code depends on makes a stale kernel impossible."""
    here = Path(__file__).parent
    # Code compiled with bounds checking (NUMBA_BOUNDSCHECK=1) is kept apart.
    flags = f"boundscheck={numba.config.BOUNDSCHECK}".encode()
    sources = ("model.py", "families.py", "plan.py", "rng.py", "kernels.py")
    digest = hashlib.sha256(b"".join((here / name).read_bytes() for name in sources) + flags).hexdigest()[:16]
    base = os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home directory (some batch environments)
            base = Path(tempfile.gettempdir())
    return str(Path(base) / "deterrence" / f"numba-{digest}")


CACHE_DIR = _cache_dir()
# Folders whose jitted functions cache under CACHE_DIR (a benchmark that
# calls the kernels adds its own).
CACHED_FOLDERS = {Path(__file__).resolve().parent}


class _CacheLocator(UserProvidedCacheLocator):
    """Numba's locator for a user-provided cache folder, claiming only the
    functions defined in CACHED_FOLDERS: the digest-keyed folder applies to
    this package without changing ``numba.config.CACHE_DIR`` for the whole
    process."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(CACHE_DIR, self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve().parent not in CACHED_FOLDERS:
            return None
        return super(UserProvidedCacheLocator, cls).from_function(py_func, py_file)


if _CacheLocator not in CacheImpl._locator_classes:
    CacheImpl._locator_classes.insert(0, _CacheLocator)

PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
TWO_M32 = 2.0**-32

STATE_SIZE = 11
_POS = 10
# Rejection samplers give up (a fault, never a wrong value) after this many
# tries; each accepts with probability above 0.7, so no valid input gets here.
MAX_REJECTIONS = 1000
# Poisson means above this are a fault: the count could not be tallied exactly.
MAX_POISSON_MEAN = 2.0**53
# Below this a Beta's gamma draws lose precision (subnormal) or underflow.
BETA_SAFE = 1e-290

jit = njit(nogil=True, cache=True, error_model="numpy")
inline = njit(nogil=True, cache=True, error_model="numpy", inline="always")


@inline
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 block: four 32-bit counter words and two key words in
    (as uint64 holding 32-bit values), four 32-bit outputs out."""
    for _ in range(10):
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        hi0 = p0 >> SHIFT32
        lo0 = p0 & MASK32
        hi1 = p1 >> SHIFT32
        lo1 = p1 & MASK32
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def new_state() -> np.ndarray:
    return np.zeros(STATE_SIZE, dtype=np.uint64)


@jit
def stream(st, key0, key1, run, stream_id):
    """Point state ``st`` at the start of stream ``stream_id`` of run ``run``."""
    r = np.uint64(run)
    st[0] = r & MASK32
    st[1] = r >> SHIFT32
    st[2] = np.uint64(stream_id)
    st[3] = np.uint64(0)
    st[4] = np.uint64(key0)
    st[5] = np.uint64(key1)
    st[_POS] = np.uint64(4)


@inline
def next_uint32(st):
    if st[_POS] == np.uint64(4):
        o0, o1, o2, o3 = philox4x32(st[0], st[1], st[2], st[3], st[4], st[5])
        st[6] = o0
        st[7] = o1
        st[8] = o2
        st[9] = o3
        st[3] = st[3] + np.uint64(1)
        st[_POS] = np.uint64(0)
    pos = st[_POS]
    st[_POS] = pos + np.uint64(1)
    return st[6 + np.int64(pos)]


@inline
def uniform_inline(st):
    """Uniform on the open interval (0, 1): never exactly 0 or 1."""
    return (np.int64(next_uint32(st)) + 0.5) * TWO_M32


@jit
def uniform(st):
    """Uniform on the open interval (0, 1): never exactly 0 or 1. A call:
    each inlined copy of the generator is slow to compile, so only the
    hottest sampler (exponential) inlines it."""
    return uniform_inline(st)


@jit
def exponential(st):
    """Exp(1) by inversion."""
    return -math.log(uniform_inline(st))


@jit
def normal(st):
    """Standard normal by Marsaglia's polar method (one of the pair); NaN
    (a fault) after MAX_REJECTIONS rejections, which no finite input reaches."""
    for _ in range(MAX_REJECTIONS):
        u = 2.0 * uniform(st) - 1.0
        v = 2.0 * uniform(st) - 1.0
        s = u * u + v * v
        if s < 1.0:
            return u * math.sqrt(-2.0 * math.log(s) / s)
    return math.nan


@jit
def gamma_parts(st, shape):
    """A Gamma(shape, 1) draw as (d, v, u, power), the draw being
    d * v * u ** power: Marsaglia and Tsang (2000) for d * v, and for
    shape < 1 the boost U ** (1 / shape) (else u = power = 1). Kept apart so
    that beta can take logarithms where the boost underflows. d is NaN (a
    fault) for a non-finite shape or after MAX_REJECTIONS rejections."""
    if shape <= 0.0:
        return 0.0, 1.0, 1.0, 1.0
    if not shape < math.inf:
        return math.nan, 1.0, 1.0, 1.0
    u_boost = 1.0
    power = 1.0
    if shape < 1.0:
        u_boost = uniform(st)
        power = 1.0 / shape
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for _ in range(MAX_REJECTIONS):
        x = normal(st)
        v = 1.0 + c * x
        if not v > 0.0:   # also a NaN normal: fault below
            if v != v:
                break
            continue
        v = v * v * v
        u = uniform(st)
        x2 = x * x
        # The squeeze accepts most draws without the logarithms; it accepts
        # only draws the exact test below would accept.
        if u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + d - d * v + d * math.log(v):
            return d, v, u_boost, power
    return math.nan, 1.0, 1.0, 1.0


@jit
def gamma(st, shape, scale):
    """Gamma(shape, scale); NaN for a fault (see :func:`gamma_parts`)."""
    d, v, u_boost, power = gamma_parts(st, shape)
    return scale * d * v * u_boost ** power


@jit
def beta(st, a, b):
    """Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). With
    shapes far below 1 the boosts underflow (0 / 0), so there the ratio is
    taken in logarithms of the same draws: exact for any a, b > 0."""
    dx, vx, ux, px = gamma_parts(st, a)
    dy, vy, uy, py = gamma_parts(st, b)
    x = dx * vx * ux ** px
    y = dy * vy * uy ** py
    if x >= BETA_SAFE and y >= BETA_SAFE:
        return x / (x + y)
    log_ratio = (math.log(dy * vy) + math.log(uy) * py) - (math.log(dx * vx) + math.log(ux) * px)
    if log_ratio > 700.0:    # exp would overflow: x / (x + y) = exp(-log_ratio) / (1 + ...)
        return math.exp(-log_ratio)
    return 1.0 / (1.0 + math.exp(log_ratio))


@jit
def poisson(st, lam):
    """Poisson(lam): inversion (one uniform) below 10, else Hörmann's PTRS
    transformed rejection (1993), as in NumPy. -1 (a fault) for a mean that
    is NaN or above MAX_POISSON_MEAN, or after MAX_REJECTIONS rejections."""
    if lam <= 0.0:
        return 0
    if not lam <= MAX_POISSON_MEAN:
        return -1
    if lam < 10.0:
        u = uniform(st)
        p = math.exp(-lam)
        cdf = p
        k = 0
        # u < 1 - 2**-33, which the cdf passes long before k = 1000 for lam < 10.
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
            if p < 1e-300 and cdf >= 1.0 - 1e-15:
                break
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for _ in range(MAX_REJECTIONS):
        u = uniform(st) - 0.5
        v = uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return np.int64(k)
    return -1


@jit
def negative_binomial(st, mean, k):
    """Gamma-Poisson count with the given mean and dispersion k
    (variance mean + mean**2 / k)."""
    return poisson(st, gamma(st, k, mean / k))
