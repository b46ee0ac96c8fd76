"""The command line's grammar, shared by the CLI and the methods: numbers
in ASCII digits with bounds, the option grammar (--a, --b and their old
names), the flags every analysis shares (--draws, --runs-per-draw,
--workers, --scheduler, --jobqueue-config, --json) with their help and
defaults, and a parser whose usage mistakes print one line. A leaf: it
imports no stage beyond the limits it checks."""

import argparse
import math
import re
import sys

from deterrence import experiment
from deterrence.config import MAX_RUNS_PER_DRAW
from deterrence.model import MAX_RUNS

JOBQUEUE_HELP = ("batch settings for --scheduler slurm|pbs and submit, in dask-jobqueue's schema (jobqueue: slurm: "
                 "cores: ...; example: jobs/jobqueue.yaml), over the site's dask config and under the config's "
                 "[cluster] table")


# Numbers on the command line: ASCII digits only (int() and float() also
# take other scripts' digits, such as "５"), optionally in the README's 1e6.
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Local worker threads or processes a command may start.
MAX_WORKERS = 1024


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def number(text: str) -> float:
    """A decimal option (--target-se, --margin) written in ASCII digits."""
    if not (NUMBER.fullmatch(text.strip()) and math.isfinite(float(text))):
        raise argparse.ArgumentTypeError(f"expected a finite number such as 0.002 in ASCII digits, "
                                         f"got {_shown(text)}")
    return float(text)


def whole_number(text: str) -> int:
    """An integer option in ASCII digits, also written as the README writes run counts (1e6)."""
    text = text.strip()
    if NUMBER.fullmatch(text) and text.lstrip("+-").isdigit() and len(text) <= 30:
        return int(text)
    value = float(text) if NUMBER.fullmatch(text) else math.nan
    # Beyond 2**53 a float no longer holds every integer: write such numbers in digits.
    if not (math.isfinite(value) and value == int(value) and abs(value) <= 2**53):
        raise argparse.ArgumentTypeError(f"expected a whole number such as 20000 or 1e6 in ASCII digits, "
                                         f"got {_shown(text)}")
    return int(value)


def bounded(low: int, high: int, why: str = ""):
    """An argparse type: a whole number from ``low`` to ``high``, checked
    before the command allocates or computes anything."""
    def parse(text: str) -> int:
        value = whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low:,} to {high:,}"
                                             + (f" ({why})" if why else "") + f", got {_shown(text)}")
        return value
    return parse


A_HELP = ('option A as axis=level pairs, e.g. "force_size=5000,posture=rear"; axes left out take the study\'s '
          "baseline level")
B_HELP = "option B, written the same way (default, or --b alone: the study's baseline)"
OUTCOME_HELP = ("the measure: war_days (mean days at war over the horizon, the headline), strikes, violations, or "
                "<event>_<years>y with the event ceasefire, deployed, reattack or tripwire (war: at war then, where "
                "it applies) and the years 1, 2 or 5, e.g. reattack_2y")


class Renamed(argparse.Action):
    """A flag under its name and, for one release, its old names: an old
    name still works, records itself in ``old_flags`` and prints a note."""

    def __call__(self, parser, namespace, values, option_string=None):
        new = self.option_strings[0]
        if option_string != new:
            print(f"deterrence: note: {option_string} is now {new}; the old name works until the next release",
                  file=sys.stderr)
            namespace.old_flags = (*getattr(namespace, "old_flags", ()), option_string)
        setattr(namespace, self.dest, values)


def _old(names: tuple[str, ...]) -> str:
    return f" (old name {', '.join(names)}: works until the next release)" if names else ""


def add_options(p: argparse.ArgumentParser, a_required: bool = True, b: bool = True, old_a: tuple = (),
                old_b: tuple = (), a_help: str = A_HELP, b_help: str = B_HELP) -> None:
    """The option grammar of every command: --a A, and --b B (missing or
    alone: the study's baseline); ``old_a``, ``old_b``: the flags they replace."""
    p.set_defaults(old_flags=())
    p.add_argument("--a", *old_a, required=a_required, metavar="A",
                   action=Renamed, help=a_help + _old(old_a))
    if b:
        p.add_argument("--b", *old_b, nargs="?", const="", metavar="B", action=Renamed, help=b_help + _old(old_b))


def add_json(p: argparse.ArgumentParser, what: str = "the table") -> None:
    # argparse formats help with %: a literal one ("90% interval") is doubled.
    p.add_argument("--json", action="store_true", help=f"print {what.replace('%', '%%')} as JSON instead")


class Parser(argparse.ArgumentParser):
    """Usage mistakes print one line, like every other user mistake."""

    def error(self, message: str):
        self.exit(2, f"deterrence: error: {message} (see {self.prog} --help)\n")


RUN_COUNT = bounded(1, MAX_RUNS, "the tallies stay exact up to there")
WORKER_COUNT = bounded(1, MAX_WORKERS)
DRAW_COUNT = bounded(1, MAX_RUNS)
PER_DRAW = bounded(1, MAX_RUNS_PER_DRAW)
WORKERS_HELP = "local worker threads (default: all cores)"
RUNS_PER_DRAW_HELP = ("runs per draw, even (default: the config's study.runs_per_draw, or "
                      f"{experiment.RUNS_PER_DRAW} if it is 1)")


def add_draws(p: argparse.ArgumentParser, help: str, default: int | None = None) -> None:
    """--draws: parameter draws; ``default`` None leaves it to the method (shown in ``help``)."""
    p.add_argument("--draws", type=DRAW_COUNT, default=default, help=help)


def add_runs_per_draw(p: argparse.ArgumentParser, help: str = RUNS_PER_DRAW_HELP, default: int | None = None) -> None:
    p.add_argument("--runs-per-draw", type=PER_DRAW, default=default, help=help)


def add_workers(p: argparse.ArgumentParser, help: str = WORKERS_HELP) -> None:
    p.add_argument("--workers", type=WORKER_COUNT, help=help)


def add_cluster(p: argparse.ArgumentParser, scheduler_help: str) -> None:
    """--scheduler and --jobqueue-config: where a command's blocks run (``clusters.backend``)."""
    p.add_argument("--scheduler", help=scheduler_help)
    p.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
