"""What every replayed analysis (explain, decide, claims, the report's
"why and when" story) shares, declared once: the default parameter draws
and runs per draw, and the one check of the runs per draw with its
message. Cheap to import (no numba): the CLI's help reads the defaults."""

from deterrence import UserError
from deterrence.config import Config

DRAWS = 2000          # default parameter draws (under a minute on the laptop config on two cores)
RUNS_PER_DRAW = 200   # default runs per draw where the config's study has 1


def runs_per_draw(config: Config, given: int | None = None) -> int:
    """The runs per draw of a replay: ``given``, else the config's
    study.runs_per_draw, else RUNS_PER_DRAW where that is 1; even and at
    least 2, since each draw's runs are split in two halves."""
    n = given or (config.study.runs_per_draw if config.study.runs_per_draw > 1 else RUNS_PER_DRAW)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n % 2:
        hint = f"; try --runs-per-draw {max(2, n + n % 2)}" if isinstance(n, int) else ""
        raise UserError(f"--runs-per-draw must be even and at least 2 (each draw's runs are split in two halves "
                        f"to correct the noise bias), got {n!r}{hint}")
    return n
