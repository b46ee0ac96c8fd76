"""`write_tables`: the numbers of the report's tables and charts as CSV
files, one per table or chart, for a spreadsheet. Each row gives an
estimate with its simulation noise (`mc_se`, one Monte Carlo standard
error) and, where the result holds one, its 90% parameter interval
(`q05`, `q95`: 5th and 95th percentile over the uncertain parameters)."""

import csv
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.report import effects
from deterrence.report.grid import options, valid_years
from deterrence.report.html import readings
from deterrence.report.tables import write_csv

LONG = [*AXES, "variable", "reading", "years", "estimate", "mc_se", "q05", "q95"]


def _cell(x) -> str:
    if isinstance(x, float):
        return "" if not np.isfinite(x) else repr(x)
    return "" if x is None else str(x)


def _write(path: Path, head: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(head)
        writer.writerows([[_cell(c) for c in row] for row in rows])
    return path


def long_rows(ds: xr.Dataset, only: tuple[str, ...] = (), years: tuple[int, ...] = ()) -> list[list]:
    """One row per option, reading and year (`LONG`); ``only``: these
    variables; ``years``: these years (default: all within the horizon)."""
    every = options(ds)
    valid = valid_years(ds)
    rows = []
    for r in readings(ds):
        if only and r["var"] not in only:
            continue
        for j, y in enumerate([int(y) for y in ds["years"].values] if r["yearly"] else [None]):
            if y is not None and (y not in valid or (years and y not in years)):
                continue
            for k, option in enumerate(every):
                interval = [None, None] if r["low"] is None else [r["low"][j][k], r["high"][j][k]]
                rows.append([option[a] for a in AXES] + [r["var"], r["heading"].replace("{years}", "N"),
                                                         "" if y is None else y, r["value"][j][k],
                                                         r["se"][j][k], *interval])
    return rows


def _effects_rows(ds: xr.Dataset, m: effects.Measure) -> list[list]:
    return [[e.option[a] for a in AXES] + [e.change, e.noise, e.low, e.high, e.better, e.better_noise,
                                           "; ".join(f"{p} {v:.4f}" for p, v in e.deciding)]
            for e in effects.effects(ds, m)]


def _sensitivity_rows(ds: xr.Dataset) -> list[list]:
    if "sensitivity" not in ds.data_vars:
        return []
    s = ds["sensitivity"].to_dataframe().dropna().reset_index()
    return s[[*AXES, "outcome", "parameter", "sensitivity"]].values.tolist()


def write_tables(ds: xr.Dataset, folder: Path) -> list[Path]:
    """Write the CSV files into ``folder`` (created); return their paths.

    - options.csv: one row per option, every reading in columns (as `report --out`);
    - readings.csv: every reading of every option at every year, one per row (the explorer's numbers);
    - effects.csv: the effects table (change in the mean days at war against the baseline, in days);
    - effects_reattack_2y.csv: the same on the 2-year re-attack risk (a probability);
    - tradeoff.csv, reattack_heatmap.csv, deployment_vs_leverage.csv: the charts' numbers;
    - sensitivity.csv: first-order indices, where the result holds them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ds = ds.load()
    at = effects.REATTACK.year
    last = max(valid_years(ds) or [int(ds["years"].values[0])])
    written = [write_csv(ds, folder / "options.csv"), _write(folder / "readings.csv", LONG, long_rows(ds))]
    for name, m in (("effects.csv", effects.HEADLINE), ("effects_reattack_2y.csv", effects.REATTACK)):
        if not effects.missing(ds, m):
            written.append(_write(folder / name, [*AXES, "change", "mc_se", "q05", "q95", "p_better",
                                                  "p_better_mc_se", "deciding_assumptions"], _effects_rows(ds, m)))
    charts = (("tradeoff.csv", ("diff_p_reattack", "p_tripwire"), (at, last)),
              ("reattack_heatmap.csv", ("p_reattack",), (at,)),
              ("deployment_vs_leverage.csv", ("p_deployed", "p_ceasefire"), (at,)))
    for name, only, years in charts:
        written.append(_write(folder / name, LONG, long_rows(ds, only, years)))
    found = _sensitivity_rows(ds)
    if found:
        written.append(_write(folder / "sensitivity.csv", [*AXES, "outcome", "parameter", "first_order_index"],
                              found))
    return written
