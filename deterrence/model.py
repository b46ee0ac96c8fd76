"""The model's vocabulary: policy axes, uncertain parameters, event streams.

Everything else refers to parameters and levels by the names and indices
defined here, so kernels, reference implementation, configs and results
agree on one layout.
"""

from dataclasses import dataclass

AXES = ("force_size", "posture", "deploy_rule", "support", "leverage")
POSTURES = ("rear", "contact_line")
DEPLOY_RULES = ("after_ceasefire", "immediate")
SUPPORTS = ("none", "isr_c2", "air_defense", "air_support")
LEVERAGES = ("status_quo", "sanctions", "assets_and_aid")
LEVELS = {"posture": POSTURES, "deploy_rule": DEPLOY_RULES,
          "support": SUPPORTS, "leverage": LEVERAGES}
DEFAULT_GRID = {
    "force_size": (0, 5000, 10000, 25000, 50000),
    "posture": POSTURES,
    "deploy_rule": DEPLOY_RULES,
    "support": SUPPORTS,
    "leverage": LEVERAGES,
}

# Domains a parameter's value must lie in.
REAL = "real"                  # (-inf, inf): an effect whose sign is not assumed
POSITIVE = "positive"          # (0, inf)
NONNEGATIVE = "nonnegative"    # [0, inf)
PROBABILITY = "probability"    # [0, 1]
AT_LEAST_ONE = "at least 1"    # [1, inf)
DOMAIN_BOUNDS = {REAL: (-float("inf"), float("inf")), POSITIVE: (0.0, float("inf")), NONNEGATIVE: (0.0, float("inf")),
                 PROBABILITY: (0.0, 1.0), AT_LEAST_ONE: (1.0, float("inf"))}


@dataclass(frozen=True)
class Parameter:
    name: str
    domain: str
    unit: str
    meaning: str


@dataclass(frozen=True)
class Prior:
    """One parameter's prior: a family and its hyperparameters, with provenance."""
    name: str
    dist: str
    params: tuple[tuple[str, float], ...]
    source: str
    fit: str = ""
    rows: str = ""    # the choice of record rows behind a fitted rate (fit.RECORD_ROWS)

    def get(self, key: str, default: float = 0.0) -> float:
        return dict(self.params).get(key, default)


# Per-level parameters: "<stem>.<level>" for every level of its axis but
# the axis's reference level, which is neutral by definition (the stem's
# NEUTRAL value: leverage_mult 1, delta_support 0, intercept 0). The plan maps
# each level to its parameter, so a new level is one entry in LEVELS (with its
# words below, optional) and its priors in priors.toml; no kernel change.
REFERENCE_LEVELS = {"support": "none", "leverage": "status_quo"}
# Each level in words: plain (figures, prose, parameter meanings) and short
# (table columns). A level without words reads as its name.
LEVEL_PLAIN = {"rear": "rear area", "contact_line": "contact line", "after_ceasefire": "after a ceasefire",
               "immediate": "now (during the war)", "none": "no US support", "isr_c2": "US ISR/C2",
               "air_defense": "US air defence", "air_support": "US air power",
               "status_quo": "status-quo leverage", "sanctions": "tighter sanctions",
               "assets_and_aid": "seized assets + aid"}
LEVEL_SHORT = {"after_ceasefire": "after", "immediate": "now", "contact_line": "contact",
               "status_quo": "status quo", "assets_and_aid": "assets+aid", "air_defense": "air def",
               "air_support": "air power", "isr_c2": "ISR/C2"}


@dataclass(frozen=True)
class LevelParameter:
    """A parameter with one value per non-reference level of ``axis``."""
    stem: str
    axis: str
    domain: str
    neutral: float
    meaning: str      # {} takes the level's words


LEVEL_PARAMETERS = (
    LevelParameter("leverage_mult", "leverage", POSITIVE, 1.0, "ceasefire hazard multiplier with {}"),
    LevelParameter("delta_support", "support", NONNEGATIVE, 0.0, "deterrent effect of {}"),
    LevelParameter("intercept", "support", PROBABILITY, 0.0, "share of strikes stopped with {}"),
    LevelParameter("veto_relief", "leverage", PROBABILITY, 0.0, "share of Moscow's veto removed by {}"),
    LevelParameter("strike_support", "support", REAL, 0.0,
                   "deterrence of missile and drone strikes on cities by {} (log of the strike-rate divisor; "
                   "below 0 it provokes them)"),
)
LEVEL_STEMS = tuple(lp.stem for lp in LEVEL_PARAMETERS)


def level_name(stem: str, level: str) -> str:
    return f"{stem}.{level}"


def _per_level(stem: str) -> tuple[Parameter, ...]:
    lp = LEVEL_PARAMETERS[LEVEL_STEMS.index(stem)]
    return tuple(Parameter(level_name(stem, level), lp.domain, "1",
                           lp.meaning.format(LEVEL_PLAIN.get(level, level.replace("_", " "))))
                 for level in LEVELS[lp.axis] if level != REFERENCE_LEVELS[lp.axis])


# The order of the parameters is free: each draws from its own permanent
# stream (STREAMS below), never from its position.
PARAMETERS = (
    Parameter("lambda_c0", POSITIVE, "per day", "hazard of a first general ceasefire, status quo, no force"),
    Parameter("nu", REAL, "1", "strength of Moscow's veto on a settlement that brings foreign troops, offered "
              "after a ceasefire (below 0: a relief, the guarantee making a settlement easier to accept)"),
    Parameter("f_veto", POSITIVE, "troops", "force size at which the veto factor is 2 ** -nu"),
    *_per_level("leverage_mult"),
    Parameter("deploy_lag", NONNEGATIVE, "days", "time from the decision (or ceasefire) to deployment"),
    Parameter("truce_shape", POSITIVE, "1", "Weibull shape of a truce's time to collapse"),
    Parameter("truce_scale", POSITIVE, "days", "Weibull scale of a truce's time to collapse"),
    Parameter("m_collapse", POSITIVE, "1", "collapse hazard multiplier with the force on the contact line"),
    Parameter("lambda_retruce", POSITIVE, "per day", "hazard of a new truce after a collapse"),
    Parameter("lambda_a0", POSITIVE, "per day", "hazard of a major re-attack during a truce, no force"),
    Parameter("e_collapse", AT_LEAST_ONE, "1", "re-attack hazard multiplier after a collapse"),
    Parameter("delta_force", NONNEGATIVE, "1", "deterrent effect of the force per log1p(F / f_scale)"),
    Parameter("f_scale", POSITIVE, "troops", "force size scale of the deterrent effect"),
    Parameter("w_rear", PROBABILITY, "1", "weight of a rear-area force relative to one on the contact line"),
    *_per_level("delta_support"),
    Parameter("delta_aid", NONNEGATIVE, "1", "Ukraine's deterrence by denial from seized assets and military aid"),
    Parameter("mu_truce", NONNEGATIVE, "per day", "mean ceasefire violations per truce day"),
    Parameter("k_truce", POSITIVE, "1", "negative-binomial dispersion of daily violations in a truce"),
    Parameter("mu_war", NONNEGATIVE, "per day", "mean ceasefire violations per day after a collapse"),
    Parameter("k_war", POSITIVE, "1", "negative-binomial dispersion of daily violations after a collapse"),
    Parameter("sigma_truce", NONNEGATIVE, "per day", "missile and drone strikes on cities per truce day"),
    Parameter("sigma_war", NONNEGATIVE, "per day", "missile and drone strikes on cities per day of fighting"),
    *_per_level("intercept"),
    Parameter("q_rear", PROBABILITY, "1", "chance a re-attack engages a force in the rear"),
    Parameter("lambda_hit", NONNEGATIVE, "per day", "hazard that a force deployed during the war is struck"),
    # Model v2 (see docs/model.md): durable truces, the veto's threshold form
    # and leverage on it, and the channels of the debate's claims.
    Parameter("p_durable", PROBABILITY, "1", "share of truces after the first that never collapse"),
    Parameter("p_durable_first", PROBABILITY, "1", "chance that the first general ceasefire never collapses"),
    Parameter("veto_floor", PROBABILITY, "1",
              "ceasefire hazard multiplier for any foreign troops under the threshold veto"),
    *_per_level("veto_relief"),
    Parameter("intercept_force", PROBABILITY, "1",
              "share of strikes on cities a large deployed force's air defence stops (F / (F + f_scale) of it)"),
    Parameter("war_ceasefire_mult", POSITIVE, "1",
              "ceasefire hazard multiplier once a force deployed during the war stands in Ukraine"),
    Parameter("engage_collapse", NONNEGATIVE, "per day",
              "hazard that fighting after a truce collapse engages a deployed force (times w(posture))"),
    # The debate's claims with both signs in their priors (docs/model.md, "Claims").
    Parameter("nu_now", REAL, "1", "strength of Moscow's veto on a settlement while a force deployed during the "
              "war stands (below 0: a relief)"),
    *_per_level("strike_support"),
    Parameter("strike_force", REAL, "1", "deterrence of strikes on cities by a deployed force: the strike rate "
              "divided by (1 + F / 10,000) ** strike_force from T_d on (below 0: provocation)"),
    Parameter("provoke_force", NONNEGATIVE, "1", "provocation by a deployed force: log of its re-attack hazard "
              "multiplier, times w(posture), from T_d on"),
    # Truce strength ([model] truces = "strength", docs/model.md "Truce strength").
    Parameter("strength_var", NONNEGATIVE, "1", "variance of a truce's strength frailty W (mean 1), which "
              "multiplies its collapse hazard and its violation rate; 0: all truces alike"),
)
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)
N_PARAMETERS = len(PARAMETERS)

# Event streams of a run, addressed by the run's index. Parameter streams are
# addressed by the draw's index, so their ids must stay below STREAM_RUN.
STREAM_RUN = 100         # 4 uniforms: ceasefire Exp(1), re-attack Exp(1), tripwire U, hit Exp(1)
STREAM_COLLAPSE = 101    # one Exp(1) per truce episode
STREAM_RETRUCE = 102     # one Exp(1) per collapse
STREAM_VIOLATIONS = 103  # per option: truce gamma, war gamma, Poisson
STREAM_STRIKES = 104     # per option: Poisson
STREAM_ENGAGE = 105      # one Exp(1): fighting after a collapse engages a deployed force
STREAM_DURABLE = 106     # one uniform per truce episode: is it durable?
STREAM_STRENGTH = 107    # one Gamma(1 / strength_var, strength_var) per truce episode: its frailty W

# Each parameter's permanent random stream: a parameter draw d draws the
# parameter from stream (d, STREAMS[name]). An id is never reused nor
# changed (that would change every result that draws the parameter); a new
# parameter or level takes the next id never used before: NEXT_STREAM,
# which then moves on. (The ids of the first 38 are their old positions, so
# no result changed when positions stopped mattering.)
STREAMS = {
    "lambda_c0": 0, "nu": 1, "f_veto": 2, "leverage_mult.sanctions": 3, "leverage_mult.assets_and_aid": 4,
    "deploy_lag": 5, "truce_shape": 6, "truce_scale": 7, "m_collapse": 8, "lambda_retruce": 9,
    "lambda_a0": 10, "e_collapse": 11, "delta_force": 12, "f_scale": 13, "w_rear": 14,
    "delta_support.isr_c2": 15, "delta_support.air_defense": 16, "delta_support.air_support": 17,
    "delta_aid": 18, "mu_truce": 19, "k_truce": 20, "mu_war": 21, "k_war": 22, "sigma_truce": 23,
    "sigma_war": 24, "intercept.isr_c2": 25, "intercept.air_defense": 26, "intercept.air_support": 27,
    "q_rear": 28, "lambda_hit": 29, "p_durable": 30, "p_durable_first": 31, "veto_floor": 32,
    "veto_relief.sanctions": 33, "veto_relief.assets_and_aid": 34, "intercept_force": 35,
    "war_ceasefire_mult": 36, "engage_collapse": 37, "nu_now": 38, "strike_support.isr_c2": 39,
    "strike_support.air_defense": 40, "strike_support.air_support": 41, "strike_force": 42, "provoke_force": 43,
    "strength_var": 44,
}
NEXT_STREAM = 45


def parameter_streams(names=PARAMETER_NAMES, streams=None) -> tuple[int, ...]:
    """The stream id of each parameter in ``names``; a parameter without one,
    a shared id or one at or above STREAM_RUN is an error of this table."""
    streams = STREAMS if streams is None else streams
    missing = [n for n in names if n not in streams]
    if missing:
        raise ValueError(f"model.STREAMS has no stream id for {', '.join(missing)}: give each a new id "
                         f"from NEXT_STREAM ({NEXT_STREAM}) on, never one used before")
    ids = [streams[n] for n in names]
    if len(set(ids)) != len(ids) or not all(0 <= i < min(NEXT_STREAM, STREAM_RUN) for i in ids):
        raise ValueError(f"model.STREAMS: stream ids must be distinct, below NEXT_STREAM ({NEXT_STREAM}) "
                         f"and below {STREAM_RUN}")
    return tuple(ids)


PARAMETER_STREAMS = parameter_streams()
# Indices of the parameters the model's equations name (the per-level ones
# are reached through the plan's level table, never by a constant).
(LAMBDA_C0, NU, F_VETO, DEPLOY_LAG, TRUCE_SHAPE, TRUCE_SCALE, M_COLLAPSE, LAMBDA_RETRUCE, LAMBDA_A0,
 E_COLLAPSE, DELTA_FORCE, F_SCALE, W_REAR, DELTA_AID, MU_TRUCE, K_TRUCE, MU_WAR, K_WAR, SIGMA_TRUCE,
 SIGMA_WAR, Q_REAR, LAMBDA_HIT) = (PARAMETER_NAMES.index(n) for n in (
    "lambda_c0", "nu", "f_veto", "deploy_lag", "truce_shape", "truce_scale", "m_collapse", "lambda_retruce",
    "lambda_a0", "e_collapse", "delta_force", "f_scale", "w_rear", "delta_aid", "mu_truce", "k_truce",
    "mu_war", "k_war", "sigma_truce", "sigma_war", "q_rear", "lambda_hit"))
(P_DURABLE, P_DURABLE_FIRST, VETO_FLOOR, INTERCEPT_FORCE, WAR_CEASEFIRE_MULT, ENGAGE_COLLAPSE, NU_NOW,
 STRIKE_FORCE, PROVOKE_FORCE, STRENGTH_VAR) = (
    PARAMETER_NAMES.index(n) for n in ("p_durable", "p_durable_first", "veto_floor", "intercept_force",
                                       "war_ceasefire_mult", "engage_collapse", "nu_now", "strike_force",
                                       "provoke_force", "strength_var"))
# The force size at which strike_force's divisor is 2 ** strike_force.
STRIKE_TROOPS = 10_000.0
# Structural choices of a config's [model] table (docs/model.md): one record
# per value, naming its kernel code, the parameters it leaves out of the
# model (fixed to their neutral value) and the record fit it switches (the
# form ``fit.record_prior`` fits the parameters in ``fitted`` with). The
# kernel, the reference and the record fits each dispatch on these and end
# in an error for a code or a fit they do not know.
VETO_POWER, VETO_THRESHOLD = range(2)
TRUCES_CURE, TRUCES_WEIBULL, TRUCES_STRENGTH = range(3)
REATTACK_JOINT, REATTACK_SEPARATE = range(2)
TRUCE_FITTED = ("truce_shape", "truce_scale")
DURABLE = (("p_durable", 0.0), ("p_durable_first", 0.0))
NO_STRENGTH = (("strength_var", 0.0),)


@dataclass(frozen=True)
class Choice:
    """One value of a [model] choice."""
    key: str
    value: str
    code: int                                    # the kernel's code: its position among the key's values
    meaning: str
    unused: tuple[tuple[str, float], ...] = ()   # parameters left out, with their neutral values
    fit: str = ""                                # the record fit (fit.RECORD_FITS) of ``fitted``
    fitted: tuple[str, ...] = ()


MODEL_CHOICES = (
    Choice("veto", "power", VETO_POWER, "Moscow's veto falls smoothly with the force size"),
    Choice("veto", "threshold", VETO_THRESHOLD, "any foreign troops meet the same veto (veto_floor)"),
    Choice("truces", "cure", TRUCES_CURE, "a Weibull truce, or a durable one that never collapses",
           NO_STRENGTH, "cure", (*TRUCE_FITTED, "p_durable", "p_durable_first")),
    Choice("truces", "weibull", TRUCES_WEIBULL, "every truce a Weibull truce", DURABLE + NO_STRENGTH,
           "weibull", TRUCE_FITTED),
    Choice("truces", "strength", TRUCES_STRENGTH, "Weibull truces of random strength: a frailty W scales "
           "each truce's collapse hazard and its violation rate", DURABLE, "strength",
           (*TRUCE_FITTED, "strength_var", "mu_truce", "k_truce")),
    Choice("reattack", "joint", REATTACK_JOINT, "lambda_a0 calibrated jointly with e_collapse",
           fit="joint", fitted=("lambda_a0",)),
    Choice("reattack", "separate", REATTACK_SEPARATE, "lambda_a0 fitted on its own", fit="rate",
           fitted=("lambda_a0",)),
)


def choice_table(records=MODEL_CHOICES) -> dict[str, tuple[str, ...]]:
    """Each [model] key's values in code order (the default first); codes
    that are not 0, 1, ... in order are an error of the table."""
    table: dict[str, list[Choice]] = {}
    for c in records:
        table.setdefault(c.key, []).append(c)
    for key, values in table.items():
        if [c.code for c in values] != list(range(len(values))):
            raise ValueError(f"model.MODEL_CHOICES: the codes of {key!r} must be 0, 1, ... in order")
    return {key: tuple(c.value for c in values) for key, values in table.items()}


CHOICES = choice_table()
DEFAULT_CHOICES = {key: values[0] for key, values in CHOICES.items()}
CHOICE_VETO, CHOICE_TRUCES, CHOICE_REATTACK = range(len(CHOICES))   # positions in a plan's choices


def choice(key: str, value: str) -> Choice:
    """The record of one [model] choice; an unknown one is an error."""
    for c in MODEL_CHOICES:
        if c.key == key and c.value == value:
            return c
    raise ValueError(f"unknown [model] choice {key} = {value!r} (see model.MODEL_CHOICES)")


# Parameters a choice leaves out of the model: fixed to their neutral value.
UNUSED = {(c.key, c.value): dict(c.unused) for c in MODEL_CHOICES if c.unused}

# The leverage level whose seized assets and aid add Ukraine's deterrence by
# denial (delta_aid).
AID_LEVEL = "assets_and_aid"

# Events with day histograms, in tally order.
EVENTS = ("first_ceasefire_day", "deployment_day", "reattack_day", "tripwire_day")
# The run's state at each year mark with paired and per-draw tallies: each
# event within y years, then at war at y years (no ceasefire yet, or a
# re-attack), in tally order.
INDICATORS = EVENTS + ("at_war",)
# Per-run counts with sums and sums of squares, in tally order. Days at war:
# before the first ceasefire and after a re-attack, within the horizon.
COUNTS = ("violations", "strikes", "truce_days", "collapses", "war_days")
# The counts the kernel pairs against the baseline and tallies per draw, in
# tally order (after the indicators in the paired tally).
PAIRED_COUNTS = ("violations", "strikes", "war_days")
TRUCE_DAYS_UNIT = 1.0 / 1024.0   # truce and war days are tallied as integers in this unit
DAY_COUNTS = ("truce_days", "war_days")
# Per-draw histograms of a paired count's draw mean and of its paired
# difference to the baseline: bin b of VALUE_BINS holds draw means x with
# round(VALUE_BIN_K * asinh(x)) = b - VALUE_BIN_HALF (x in the count's unit:
# days, violations, strikes), so a bin is 1 / VALUE_BIN_K wide near 0 and
# about 1% of x wide elsewhere, up to MAX_COUNT. A draw's within-draw sum of
# squared deviations is tallied in units of 1 / VALUE_NOISE_SCALE of the
# count's unit squared.
VALUE_BIN_K = 100.0
VALUE_BIN_HALF = 2219            # ceil(VALUE_BIN_K * asinh(MAX_COUNT))
VALUE_BINS = 2 * VALUE_BIN_HALF + 1
VALUE_NOISE_SCALE = 1024.0
# Per-draw histograms of the re-attack risk within y years of the first
# ceasefire (a ratio A / C of the draw's runs: C whose ceasefire left y years
# of horizon, A of them re-attacked within y years of it) and of its paired
# difference to the baseline: bin round(AFTER_SCALE * x) + AFTER_SCALE, exact
# in integers, so a bin is 1 / AFTER_SCALE wide on [-1, 1]; the last bin
# (AFTER_UNDEFINED) holds the draws in which no run qualified (for the
# difference: no run of the option or of the baseline). Each draw's noise
# variance is tallied in units of 1 / AFTER_NOISE_SCALE.
AFTER_SCALE = 1000
AFTER_UNDEFINED = 2 * AFTER_SCALE + 1
AFTER_BINS = AFTER_UNDEFINED + 1
AFTER_NOISE_SCALE = 2.0**40
# Exactness of the tallies: a run's count (violations, strikes, truce days in
# TRUCE_DAYS_UNIT, collapses) above MAX_COUNT is a fault, so its square fits
# int64 and, over at most MAX_RUNS runs, every sum of counts and every 32-bit
# limb of the sums of squares fits int64: (2**32 - 1) * (2**31 - 1) < 2**63.
MAX_COUNT = 2**31 - 1
MAX_RUNS = 2**32 - 1
# A run needing more truce episodes than this within the horizon is a fault
# (it bounds the kernel's memory and time per run).
MAX_EPISODES = 2**20
YEARS = (1, 2, 5)
# First-order sensitivity: headline outcomes (each event within two years,
# the paired change in re-attack against the baseline, then days at war and
# their paired change, in TRUCE_DAYS_UNIT), binned by prior deciles of each
# uncertain parameter.
SENSITIVITY_OUTCOMES = ("ceasefire_2y", "deployed_2y", "reattack_2y", "tripwire_2y", "diff_reattack_2y",
                        "war_days", "diff_war_days")
SENSITIVITY_YEAR = 2
SENSITIVITY_BINS = 10
