"""The outcomes of a study, each declared once: its name in the dataset, the
model tally it comes from, its kind, unit, long name and short label.

The model (`deterrence.model`) owns the tally layout the kernels fill
(`EVENTS`, `COUNTS`); this table owns the words. The dataset's variables and
their `long_name` and `units` attributes, the report's tables, figures and
CSV columns, and the README's table of variables (``python -m
deterrence.outcomes`` prints it) are all read from here.
"""

from dataclasses import dataclass

from deterrence.model import COUNTS, DAY_COUNTS, EVENTS, INDICATORS, PAIRED_COUNTS, TRUCE_DAYS_UNIT

# Kinds of outcome.
EVENT = "event"      # a day histogram, read as the probability that it happens within the given years
STATE = "state"      # a state at the given years (at war), read as its probability
COUNT = "count"      # a per-run total over the horizon, read as its mean over runs
DERIVED = "derived"  # a probability computed from the event readings
# Which way is better: a lower value, a higher one, or neither (deployment,
# the truce days: good or bad only through the other outcomes).
LOWER, HIGHER, NEITHER = "lower", "higher", ""


@dataclass(frozen=True)
class Outcome:
    """One outcome of a run.

    ``name`` is the dataset's word (``p_<name>``, ``mean_<name>``); ``tally``
    the entry of `model.EVENTS` or `model.COUNTS` it is read from ("" for a
    derived outcome); ``unit`` that of one run's value; ``long_name`` what it
    is, in the model's words; ``label`` a heading for tables and figures;
    ``paired``: the kernel also tallies its paired difference to the
    baseline (and, for a count, its draw means and their differences:
    parameter intervals); ``better``: LOWER, HIGHER or NEITHER, the
    direction in which an option's change counts as better (``p_better``)."""

    name: str
    kind: str
    unit: str
    long_name: str
    label: str
    tally: str = ""
    paired: bool = False
    better: str = NEITHER

    @property
    def scale(self) -> float:
        """The value of one unit of the tally: days (truce days, days at
        war) are tallied as integers in model.TRUCE_DAYS_UNIT; every other
        tally counts itself. A tally times its scale is in ``unit``."""
        return TRUCE_DAYS_UNIT if self.tally in DAY_COUNTS else 1.0

    @property
    def meaning(self) -> str:
        """The long name without the label it repeats in brackets, for a legend `label: meaning`."""
        return self.long_name.removesuffix(f" ({self.label})")

    def variables(self) -> dict[str, dict[str, str]]:
        """Every dataset variable of this outcome, with its attributes."""
        n, what = self.name, self.long_name
        if self.kind in (EVENT, STATE):
            found = {
                self.tally: (f"runs by day of {what}; the last bin counts runs where it did not happen "
                             f"within the horizon", "runs"),
                f"p_{n}": (f"probability of {what} within the given years", "1"),
                f"p_{n}_se": (f"Monte Carlo standard error of p_{n}", "1"),
            }
            if self.kind == STATE:
                del found[self.tally]
                found[f"p_{n}"] = (f"probability of {what} at the given years", "1")
            found[f"p_{n}_q"] = (f"quantiles over the uncertain parameters of the conditional probability "
                                 f"P({what} within the given years, given the parameters)"
                                 " (nested design, debiased)", "1")
            found[f"p_{n}_q_se"] = (f"Monte Carlo error of p_{n}_q (simulation noise only)", "1")
            if self.paired:
                found[f"diff_p_{n}"] = (f"paired difference to the baseline of p_{n} (common random numbers)", "1")
                found[f"diff_p_{n}_se"] = (f"paired standard error of diff_p_{n}", "1")
                found[f"diff_p_{n}_q"] = (f"quantiles over the uncertain parameters of the conditional paired "
                                          f"effect E[diff given the parameters] on p_{n}"
                                          " (nested design, debiased)", "1")
                found[f"diff_p_{n}_q_se"] = (f"Monte Carlo error of diff_p_{n}_q (simulation noise only)", "1")
                if self.better:
                    found.update(self._better())
        elif self.kind == COUNT:
            total, unit = f"the total {what} over the horizon", self.unit
            found = {
                f"{n}_sum": (f"sum over runs of {total}", unit),
                f"{n}_sumsq": (f"sum over runs of the square of {total}", "1" if unit == "1" else f"{unit}2"),
                f"mean_{n}": (f"mean per run of {total}", unit),
                f"mean_{n}_se": (f"Monte Carlo standard error of mean_{n}", unit),
            }
            if self.paired:
                found[f"diff_mean_{n}"] = (f"paired difference to the baseline of mean_{n} (common random "
                                           f"numbers)", unit)
                found[f"diff_mean_{n}_se"] = (f"paired standard error of diff_mean_{n}", unit)
                found[f"mean_{n}_q"] = (f"quantiles over the uncertain parameters of the conditional mean "
                                        f"E[{what} given the parameters] (nested design, debiased)", unit)
                found[f"mean_{n}_q_se"] = (f"Monte Carlo error of mean_{n}_q (simulation noise only)", unit)
                found[f"diff_mean_{n}_q"] = (f"quantiles over the uncertain parameters of the conditional paired "
                                             f"effect E[diff given the parameters] on mean_{n}"
                                             " (nested design, debiased)", unit)
                found[f"diff_mean_{n}_q_se"] = (f"Monte Carlo error of diff_mean_{n}_q (simulation noise only)",
                                                unit)
                if self.better:
                    found.update(self._better())
        elif self.kind == DERIVED:
            found = {n: (what, self.unit), f"{n}_se": (f"Monte Carlo standard error of {n} (over parameter "
                                                       f"draws with the nested design)", self.unit)}
            if self.paired:
                found[f"diff_{n}"] = (f"paired difference to the baseline of {n} (common random numbers)",
                                      self.unit)
                found[f"diff_{n}_se"] = (f"paired standard error of diff_{n}", self.unit)
                found[f"{n}_q"] = (f"quantiles over the uncertain parameters of the conditional {what}, given "
                                   f"the parameters (nested design, debiased; over the draws where a run "
                                   f"qualifies)", self.unit)
                found[f"{n}_q_se"] = (f"Monte Carlo error of {n}_q (simulation noise only)", self.unit)
                found[f"diff_{n}_q"] = (f"quantiles over the uncertain parameters of the conditional paired "
                                        f"effect on {n} (nested design, debiased)", self.unit)
                found[f"diff_{n}_q_se"] = (f"Monte Carlo error of diff_{n}_q (simulation noise only)", self.unit)
                if self.better:
                    found.update(self._better())
        else:
            raise ValueError(f"outcome {n}: unknown kind {self.kind!r}; kinds: {EVENT}, {COUNT}, {DERIVED}")
        return {name: {"long_name": long_name, "units": units} for name, (long_name, units) in found.items()}

    @property
    def reading(self) -> str:
        """What the outcome's value is: `P(... within y years)`, `P(... at y years)` or `mean ...`."""
        if self.kind == COUNT:
            return f"mean {self.label}"
        return f"P({self.label} {'at' if self.kind == STATE else 'within'} {{years}} years)"

    @property
    def better_name(self) -> str:
        """The dataset variable of its p_better: ``p_better_<name>`` (a
        derived probability's name without its ``p_``)."""
        return f"p_better_{self.name.removeprefix('p_')}"

    def _better(self) -> dict[str, tuple[str, str]]:
        direction = "below" if self.better == LOWER else "above"
        at = " at the given years" if self.kind != COUNT else ""
        return {self.better_name: (f"share of the uncertain parameters' draws under which the option's "
                                          f"conditional {self.long_name}{at} is {direction} the baseline's "
                                          f"(nested design, debiased)", "1"),
                f"{self.better_name}_se": (f"Monte Carlo error of {self.better_name} (simulation noise only)",
                                             "1")}


OUTCOMES = (
    Outcome("war_days", COUNT, "days", "days at war: before the first ceasefire and after a re-attack",
            "days at war", "war_days", True, LOWER),
    Outcome("ceasefire", EVENT, "1", "the first general ceasefire", "ceasefire", "first_ceasefire_day", True,
            HIGHER),
    Outcome("deployed", EVENT, "1", "deployment of the reassurance force", "deployed", "deployment_day", True),
    Outcome("reattack", EVENT, "1", "a renewed major offensive (re-attack)", "re-attack", "reattack_day", True,
            LOWER),
    Outcome("tripwire", EVENT, "1", "foreign troops engaged in combat (tripwire)", "tripwire", "tripwire_day",
            True, LOWER),
    Outcome("war", STATE, "1", "being at war: no ceasefire yet, or a re-attack", "at war", "at_war", True, LOWER),
    # The kernel pairs model.PAIRED_COUNTS (violations, strikes, days at war).
    Outcome("violations", COUNT, "1", "ceasefire violations after the first ceasefire", "violations",
            "violations", True, LOWER),
    Outcome("strikes", COUNT, "1", "missile and drone strikes on cities", "strikes", "strikes", True, LOWER),
    Outcome("truce_days", COUNT, "days", "days in truce before any re-attack", "truce days", "truce_days"),
    Outcome("collapses", COUNT, "1", "truce collapses", "collapses", "collapses"),
    Outcome("p_reattack_after_ceasefire", DERIVED, "1", "probability of a re-attack within the given years "
            "of the first ceasefire, among runs whose ceasefire came at least that long before the horizon "
            "(free of the ceasefire's timing)", "re-attack after ceasefire", paired=True, better=LOWER),
)
# The derived outcome of the after-ceasefire tallies (model.AFTER_SCALE).
AFTER_CEASEFIRE = "p_reattack_after_ceasefire"

# Dataset variables that are not outcomes: (long_name, units).
OTHER_VARIABLES = {
    "sensitivity": ("first-order sensitivity index of the outcome to the parameter (share of its variance "
                    "explained by the parameter's prior decile)", "1"),
    "sensitivity_bin_mean": ("mean outcome by prior decile of the parameter", "1"),
    "runs": ("runs simulated", "runs"),
    "p_better": ("share of the uncertain parameters' draws under which the option's conditional mean days "
                 "at war over the horizon are below the baseline's (nested design, debiased; the headline "
                 "measure, deterrence.outcomes.HEADLINE)", "1"),
    "p_better_se": ("Monte Carlo error of p_better (simulation noise only)", "1"),
    "runs_after_ceasefire": ("runs whose first ceasefire came at least the given years before the horizon",
                             "runs"),
}
_BY_NAME = {o.name: o for o in OUTCOMES}
_BY_TALLY = {o.tally: o for o in OUTCOMES if o.tally}
if {o.tally for o in OUTCOMES if o.kind == COUNT and o.paired} != set(PAIRED_COUNTS):
    raise ValueError("deterrence.outcomes: the paired counts must be those of model.PAIRED_COUNTS")
# The headline measure: effects, p_better and deciding assumptions are read
# on it unless a command's --outcome says otherwise. Days at war, not the
# re-attack risk: a re-attack can only follow a ceasefire, so whatever
# delays the ceasefire lowers that risk, and a longer war would look better.
HEADLINE = "war_days"
# Only with uncertain parameters; only with study.runs_per_draw > 1 (the nested design).
OPTIONAL_VARIABLES = (
    "sensitivity", "sensitivity_bin_mean", "p_better", "p_better_se",
    *(f"{prefix}p_{o.name}_q{se}" for o in OUTCOMES if o.kind in (EVENT, STATE)
      for prefix in ("", "diff_") if prefix == "" or o.paired for se in ("", "_se")),
    *(f"{prefix}mean_{o.name}_q{se}" for o in OUTCOMES if o.kind == COUNT and o.paired
      for prefix in ("", "diff_") for se in ("", "_se")),
    *(f"{prefix}{o.name}_q{se}" for o in OUTCOMES if o.kind == DERIVED and o.paired
      for prefix in ("", "diff_") for se in ("", "_se")),
    *(f"{o.better_name}{se}" for o in OUTCOMES if o.paired and o.better for se in ("", "_se")))




def war_probability(p_ceasefire, p_reattack):
    """The derived state ``war`` at y years from the two event readings at
    y years: no ceasefire yet, or re-attacked. The events are disjoint (a
    re-attack can only follow a ceasefire), so the probabilities add
    exactly. The one derivation of being at war from the events: the
    result's ``p_war`` and the decision's ``war_5y`` term read it (the
    kernel tallies the state itself per draw)."""
    return 1.0 - p_ceasefire + p_reattack


# The parameters that reach one count alone, by the model's structure:
# strikes and violations are drawn for the days of the timeline and never
# change it, so their rates (and interception of strikes) reach no other
# outcome. A parameter named here by its name or family (``intercept`` for
# ``intercept.air_defense``) reaches only its count; every other parameter may
# reach every outcome. tests/test_outcomes.py replays runs with these changed
# and checks that every other tally stays the same.
REACH_ONLY = {"strikes": ("sigma_truce", "sigma_war", "intercept", "intercept_force"),
              "violations": ("mu_truce", "k_truce", "mu_war", "k_war")}


def reaches(parameter: str, name: str) -> bool:
    """Whether ``parameter`` (``intercept.air_defense``) can change the
    outcome ``name`` (``reattack``, ``strikes``) by the model's structure (`REACH_ONLY`)."""
    family = parameter.split(".", 1)[0]
    return all(name == only or (parameter not in names and family not in names)
               for only, names in REACH_ONLY.items())


def outcome(name: str) -> Outcome:
    """The outcome called ``name`` (``"reattack"``); KeyError for any other name."""
    if name not in _BY_NAME:
        raise KeyError(f"no outcome named {name!r}; deterrence.outcomes.OUTCOMES declares {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def of_tally(tally: str) -> Outcome:
    """The outcome read from the model tally ``tally`` (``"reattack_day"``); KeyError for any other."""
    if tally not in _BY_TALLY:
        raise KeyError(f"no outcome reads the tally {tally!r}; declare one in deterrence.outcomes.OUTCOMES "
                       f"(tallied: {', '.join(_BY_TALLY)})")
    return _BY_TALLY[tally]


def events() -> list[Outcome]:
    """The event outcomes, in the order the kernel tallies them (`model.EVENTS`)."""
    return [of_tally(t) for t in EVENTS]


def indicators() -> list[Outcome]:
    """The outcomes with paired and per-draw indicator tallies (events, then
    states), in the order the kernel tallies them (`model.INDICATORS`)."""
    return [of_tally(t) for t in INDICATORS]


def paired_counts() -> list[Outcome]:
    """The counts the kernel pairs and tallies per draw (`model.PAIRED_COUNTS`)."""
    return [of_tally(t) for t in PAIRED_COUNTS]


def counts() -> list[Outcome]:
    """The count outcomes, in the order the kernel tallies them (`model.COUNTS`)."""
    return [of_tally(t) for t in COUNTS]


def sensitivity_label(key: str) -> str:
    """Words for a key of `model.SENSITIVITY_OUTCOMES`: ``reattack_2y`` is
    `P(re-attack within 2 years)`, ``diff_reattack_2y`` its paired change
    against the baseline, ``war_days`` the mean days at war; KeyError for a
    key of no outcome."""
    bare = key.removeprefix("diff_")
    if bare in _BY_NAME and _BY_NAME[bare].kind == COUNT:
        label = _BY_NAME[bare].label
        return f"change in mean {label} vs baseline" if key.startswith("diff_") else f"mean {label}"
    name, _, years = bare.rpartition("_")
    if not (years.endswith("y") and years[:-1].isdigit()) or name not in _BY_NAME:
        raise KeyError(f"sensitivity outcome {key!r}: expected [diff_]<outcome>_<years>y or [diff_]<count>, "
                       f"the outcome one of {', '.join(_BY_NAME)}")
    label, years = outcome(name).label, int(years[:-1])
    if key.startswith("diff_"):
        return f"change in P({label} within {years} y) vs baseline"
    return f"P({label} within {years} years)"


def parse_event_years(text: str) -> tuple[str, int]:
    """(event, years) of an outcome written ``<event>_<years>y`` on the
    command line, e.g. ``reattack_2y``; UserError naming the choices."""
    import re

    from deterrence import UserError
    from deterrence.model import YEARS

    names = [o.name for o in events()]
    found = re.fullmatch(r"(\w+)_(\d+)y", text)
    if not found or found[1] not in names or int(found[2]) not in YEARS:
        raise UserError(f"--outcome {text!r}: write <event>_<years>y, the event one of {', '.join(names)} "
                        f"and the years one of {', '.join(map(str, YEARS))} (e.g. reattack_2y)")
    return found[1], int(found[2])


def parse_measure(text: str, states: bool = True) -> tuple[str, int | None]:
    """(outcome, years) of a measure written on the command line: a paired
    count (``war_days``, ``strikes``, ``violations``; years None), or
    ``<event or state>_<years>y`` (``reattack_2y``, ``war_5y``; no state
    with ``states`` False); UserError naming the choices."""
    import re

    from deterrence import UserError
    from deterrence.model import YEARS

    counts = [o.name for o in paired_counts()]
    if text in counts:
        return text, None
    names = [o.name for o in (indicators() if states else events())]
    found = re.fullmatch(r"(\w+)_(\d+)y", text)
    if found and found[1] in names and int(found[2]) in YEARS:
        return found[1], int(found[2])
    raise UserError(f"--outcome {text!r}: write one of {', '.join(counts)}, or <event>_<years>y with the event "
                    f"one of {', '.join(names)} and the years one of {', '.join(map(str, YEARS))} "
                    f"(e.g. war_days, reattack_2y)")


def variables() -> dict[str, dict[str, str]]:
    """Every dataset variable an outcome or `OTHER_VARIABLES` declares, with its attributes."""
    found = {}
    for o in OUTCOMES:
        found.update(o.variables())
    found.update({name: {"long_name": long_name, "units": units}
                  for name, (long_name, units) in OTHER_VARIABLES.items()})
    return found


def attrs(variable: str) -> dict[str, str]:
    """The ``long_name`` and ``units`` of a dataset variable; KeyError if none declares it."""
    declared = variables()
    if variable not in declared:
        raise KeyError(f"no outcome declares the variable {variable!r}; add it to deterrence.outcomes")
    return dict(declared[variable])


def markdown() -> str:
    """The README's table of variables: one row per variable, its standard
    error or sum of squares folded into the same row."""
    declared = variables()
    companions = {"_se": ("`_se`", "with its standard error"), "sq": ("`_sumsq`", "and of its square")}
    lines = ["| variable | unit | meaning |", "| --- | --- | --- |"]
    for name, a in declared.items():
        if any(name.endswith(s) and name[:-len(s)] in declared for s in companions):
            continue
        shown, meaning = f"`{name}`", a["long_name"]
        for suffix, (tag, words) in companions.items():
            if name + suffix in declared:
                shown, meaning = f"{shown} (+ {tag})", f"{meaning}, {words}"
        lines.append(f"| {shown} | {a['units']} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
