"""`write_html`: one self-contained HTML page of a result (plotly.js, the
page's script and the numbers inlined; it opens offline from ``file://``):
an option explorer, two options side by side, interactive charts with
their 90% parameter intervals drawn as bars, and what the result was made
from (priors and their sources, `[model]` choices, config, seed, version).

The outcomes are listed from the declarations (`deterrence.outcomes`):
every variable an outcome declares that the result holds per option, with
its `_se` (simulation noise), becomes a reading on the page, with its
`_q` parameter interval where the result has one."""

import html
import json
import math
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.outcomes import COUNT, OUTCOMES, STATE, Outcome
from deterrence.report import effects
from deterrence.report.figures import MEANINGS
from deterrence.report.grid import (
    AXIS_WORDS,
    HIGH,
    LOW,
    NOT_NESTED,
    PLAIN,
    baseline,
    flat,
    levels,
    nested,
    options,
    plain_option,
    valid_years,
)

DIGITS = 5   # significant digits of the numbers inlined: far below any simulation noise


def _round(values: np.ndarray) -> list:
    """Numbers for JSON, ``DIGITS`` significant; None where undefined."""
    return [None if not math.isfinite(v) else float(f"{v:.{DIGITS}g}") for v in values.astype(float)]


def heading(var: str, o: Outcome) -> str:
    """What a reading is, in words; ``{years}`` stands for its years."""
    diff = var.startswith("diff_")
    if o.kind == COUNT:
        text = f"mean {o.label} per run over the horizon"
    elif o.kind == STATE:
        text = f"P({o.label} at {{years}} years)"
    elif var.removeprefix("diff_").startswith("p_") and var.removeprefix("diff_") == f"p_{o.name}":
        text = f"P({o.label} within {{years}} years)"
    else:
        text = f"P({o.label}) at {{years}} years"
    return f"Δ {text} vs baseline" if diff else text


def readings(ds: xr.Dataset) -> list[dict]:
    """Every per-option reading of every declared outcome the result holds:
    its estimate and simulation noise (one Monte Carlo standard error) per
    year, and its 90% parameter interval where the result has one."""
    found = []
    years = [int(y) for y in ds["years"].values]
    for o in OUTCOMES:
        for var in o.variables():
            if (var.endswith("_q") or var.startswith("p_better") or var not in ds.data_vars
                    or f"{var}_se" not in ds.data_vars):
                continue
            if not set(AXES) <= set(ds[var].dims):
                continue
            yearly = "years" in ds[var].dims
            interval = nested(ds) and f"{var}_q" in ds.data_vars

            def column(name, q=None, yearly=yearly):
                """Per year (one row if not yearly), per option."""
                return [_round(flat(ds, name, y, q)) for y in (years if yearly else [None])]
            found.append({
                "var": var, "outcome": o.name, "heading": heading(var, o), "long_name": ds[var].attrs.get(
                    "long_name", o.long_name), "unit": o.unit, "diff": var.startswith("diff_"),
                "percent": o.kind != COUNT and o.unit == "1", "yearly": yearly,
                "value": column(var), "se": column(f"{var}_se"),
                "low": column(f"{var}_q", LOW) if interval else None,
                "high": column(f"{var}_q", HIGH) if interval else None})
    return found


def _sensitivity(ds: xr.Dataset) -> dict | None:
    """First-order indices per option, outcome and parameter; None without them
    (or with one run per draw, where they are mostly chance)."""
    if not nested(ds) or "sensitivity" not in ds.data_vars:
        return None
    s = ds["sensitivity"].transpose(*AXES, "outcome", "parameter")
    names = [str(p) for p in s["parameter"].values]
    outcomes = [str(v) for v in s["outcome"].values]
    values = s.values.astype(float).reshape(len(options(ds)), len(outcomes), len(names))
    return {"outcomes": outcomes, "parameters": names, "meanings": [MEANINGS.get(p, "") for p in names],
            "values": [[_round(row) for row in option] for option in values]}


def _meta(ds: xr.Dataset) -> dict:
    def loads(name):
        try:
            return json.loads(ds.attrs.get(name, "{}"))
        except ValueError:
            return {}
    keys = ("title", "package_version", "source", "created", "history", "seed", "runs", "runs_per_draw",
            "parameter_draws", "horizon_days", "start_date", "config_sha256")
    return {"attrs": {k: str(ds.attrs[k]) for k in keys if k in ds.attrs},
            "priors": loads("priors"), "model": loads("model_choices"), "config": str(ds.attrs.get("config", ""))}


def payload(ds: xr.Dataset) -> dict:
    """Everything the page shows, as plain JSON-able data."""
    grid = levels(ds)
    every = options(ds)
    base = baseline(ds)
    found = effects.effects(ds)
    return {
        "axes": [{"name": a, "words": AXIS_WORDS[a],
                  "levels": [{"value": v, "label": f"{v:,}" if a == "force_size" else PLAIN.get(v, v)}
                             for v in grid[a]]} for a in AXES],
        "options": [{**o, "label": plain_option(o, ds)} for o in every],
        "baseline": every.index(base) if base is not None else None,
        "baseline_words": plain_option(base, all_axes=True) if base is not None else "not a point of this grid",
        "years": [int(y) for y in ds["years"].values], "valid_years": valid_years(ds),
        "nested": nested(ds), "not_nested": NOT_NESTED, "horizon_days": int(ds.attrs["horizon_days"]),
        "readings": readings(ds),
        "effects": {"var": effects.HEADLINE.effect, "words": effects.HEADLINE.words,
                    "year": effects.HEADLINE.year, "outcome": effects.HEADLINE.outcome,
                    "p_better": [e.better for e in found], "p_better_se": [e.better_noise for e in found],
                    "deciding": [list(e.deciding) for e in found]} if found else None,
        "effects_missing": effects.missing(ds),
        "sensitivity": _sensitivity(ds),
        "meta": _meta(ds),
    }


def _script_json(data) -> str:
    # Inside <script>, "</" would end the element.
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def page(ds: xr.Dataset) -> str:
    """The page as one string: plotly.js, the data and the page's script inlined."""
    from plotly.offline import get_plotlyjs

    here = files("deterrence.report")
    parts = {"title": html.escape(str(ds.attrs.get("title", "deterrence study"))),
             "style": here.joinpath("html.css").read_text(), "plotly": get_plotlyjs(),
             "data": _script_json(payload(ds.load())), "script": here.joinpath("html.js").read_text()}
    # One pass: a "{{...}}" inside plotly.js or the data is never read as a slot.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m[1]], here.joinpath("html.html").read_text())


def write_html(ds: xr.Dataset, path: Path) -> Path:
    """Write the page to ``path`` (its folder must exist)."""
    path = Path(path)
    path.write_text(page(ds), encoding="utf-8")
    return path
