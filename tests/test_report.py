"""`deterrence report RESULT --out DIR`: Markdown, CSV and figures from a
small result; the sensitivity chart drawn or skipped; a collapsed grid."""

import csv
import itertools
import re

import numpy as np
import pytest
import xarray as xr

from deterrence import report
from deterrence.cli import main
from deterrence.model import AXES

SMALL = """
[study]
name = "small"
runs = 2000
seed = 11
horizon_days = 1000
block_runs = 1000

[grid]
force_size = [0, 5000]
posture = ["rear"]
deploy_rule = ["after_ceasefire", "immediate"]
support = ["none", "air_defense"]
leverage = ["status_quo", "assets_and_aid"]
"""

# One value per axis except force, and a horizon under two years.
COLLAPSED = """
[study]
name = "collapsed"
runs = 2000
seed = 3
horizon_days = 500
block_runs = 1000

[grid]
force_size = [0, 25000]
posture = ["contact_line"]
deploy_rule = ["after_ceasefire"]
support = ["none"]
leverage = ["status_quo"]
"""

PNGS = {"reattack_incidence.png", "reattack_heatmap.png", "deployment_vs_leverage.png", "tradeoff.png"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path_factory, name: str, text: str) -> xr.Dataset:
    folder = tmp_path_factory.mktemp(name)
    cfg = folder / f"{name}.toml"
    cfg.write_text(text)
    out = folder / f"{name}.nc"
    assert main(["run", str(cfg), "--runs", "2000", "--workers", "1", "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    # Whatever this version of `run` writes, start without sensitivity indices.
    return ds.drop_vars([v for v in ("sensitivity", "sensitivity_bin_mean") if v in ds.data_vars])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _run(tmp_path_factory, "small", SMALL)


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory):
    return _run(tmp_path_factory, "collapsed", COLLAPSED)


def _with_sensitivity(ds: xr.Dataset) -> xr.Dataset:
    outcomes = ["ceasefire_2y", "deployed_2y", "reattack_2y", "tripwire_2y", "diff_reattack_2y"]
    parameters = [f"p{k}" for k in range(15)] + ["truce_scale", "delta_force", "intercept.air_defense"]
    shape = tuple(ds.sizes[a] for a in AXES) + (len(outcomes), len(parameters))
    values = np.random.default_rng(0).uniform(0, 0.05, size=shape)
    values[..., parameters.index("delta_force")] = 0.6   # the clear leader
    values[..., 0, 0] = np.nan                            # undefined indices are skipped
    da = xr.DataArray(values, dims=AXES + ("outcome", "parameter"),
                      coords={**{a: ds[a] for a in AXES}, "outcome": outcomes, "parameter": parameters})
    return ds.assign(sensitivity=da)


def _check_files(written, out_dir, with_sensitivity: bool):
    names = [p.name for p in written]
    assert names[0] == "report.md" and len(names) == len(set(names))
    expected = PNGS | {"report.md", "options.csv"} | ({"sensitivity.png"} if with_sensitivity else set())
    assert set(names) == expected
    assert {p.name for p in out_dir.iterdir()} == expected
    for p in written:
        assert p.parent == out_dir and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC
            assert p.stat().st_size < 400_000
    md = (out_dir / "report.md").read_text()
    linked = set(re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md))
    assert linked == {n for n in names if n.endswith(".png")}
    return md


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_writes_every_file(small, tmp_path):
    out = tmp_path / "report"
    written = report.write_report(small, out)
    md = _check_files(written, out, with_sensitivity=False)
    # Summary, table, readings and limits.
    assert "2,000" in md and "seed: 11" in md and small.attrs["config_sha256"] in md
    assert "1000 days" in md and "baseline: no force" in md
    assert "## Limits" in md and "judgment" in md and "priors" in md
    assert "| force | posture |" in md
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    table_rows = [line for line in md.splitlines() if re.match(r"\| [\d,]+ \|", line)]
    assert len(table_rows) == n_options
    # The chart is skipped, with a line that says why.
    assert "sensitivity.png" not in md and "not drawn" in md and "`sensitivity`" in md
    # The CSV: one row per option, every axis, each year with SE.
    rows = _read_csv(out / "options.csv")
    assert len(rows) == n_options
    columns = set(rows[0])
    assert set(AXES) <= columns
    for word in ("ceasefire", "deployed", "reattack", "tripwire"):
        for y in (1, 2, 5):
            assert {f"p_{word}_{y}y", f"p_{word}_{y}y_se"} <= columns
    for y in (1, 2, 5):
        assert {f"diff_p_reattack_{y}y", f"diff_p_reattack_{y}y_se"} <= columns
    assert {"mean_strikes", "mean_strikes_se", "mean_violations", "mean_violations_se"} <= columns
    seen = {tuple(r[a] for a in AXES) for r in rows}
    assert seen == {tuple(str(v) for v in o)
                    for o in itertools.product(*(small[a].values for a in AXES))}
    # Values agree with the dataset; five years lies beyond this horizon: empty.
    for r in rows:
        o = small.sel(force_size=int(r["force_size"]), **{a: r[a] for a in AXES[1:]})
        assert float(r["p_reattack_2y"]) == pytest.approx(float(o.p_reattack.sel(years=2)))
        assert float(r["diff_p_reattack_1y_se"]) == pytest.approx(float(o.diff_p_reattack_se.sel(years=1)))
        assert float(r["mean_strikes"]) == pytest.approx(float(o.mean_strikes))
        assert r["p_reattack_5y"] == "" and r["p_tripwire_5y_se"] == ""
    base = [r for r in rows if r["force_size"] == "0" and r["support"] == "none"
            and r["leverage"] == "status_quo"]
    assert base and all(float(r["diff_p_reattack_2y"]) == 0.0 for r in base)


def test_sensitivity_chart_drawn_when_present(small, tmp_path):
    out = tmp_path / "report"
    ds = _with_sensitivity(small)
    written = report.write_report(ds, out)
    md = _check_files(written, out, with_sensitivity=True)
    assert "![" in md and "(sensitivity.png)" in md and "not drawn" not in md
    assert "`delta_force` (deterrent effect of the force" in md and "; 0.60)" in md


def test_collapsed_grid(collapsed, tmp_path):
    out = tmp_path / "report"
    written = report.write_report(_with_sensitivity(collapsed), out)
    md = _check_files(written, out, with_sensitivity=True)
    assert "within 1 year(s)" in md          # two years lie beyond a 500-day horizon
    rows = _read_csv(out / "options.csv")
    assert len(rows) == 2 and [r["force_size"] for r in rows] == ["0", "25000"]
    assert all(r["p_reattack_2y"] == "" for r in rows)


def test_cli_report_out(small, tmp_path, capsys):
    result = tmp_path / "small.nc"
    small.to_netcdf(result, engine="h5netcdf")
    out = tmp_path / "figures"
    assert main(["report", str(result), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "re-attack" in captured.out and "tripwire" in captured.out   # the table, as before
    assert "report.md" in captured.err
    assert {p.name for p in out.iterdir()} == PNGS | {"report.md", "options.csv"}
