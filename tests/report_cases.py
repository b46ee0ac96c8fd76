"""Small results for the report tests: a grid with every axis but posture
varying, and a collapsed grid with a horizon under two years."""

import numpy as np
import xarray as xr

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


def run(tmp_path_factory, name: str, text: str) -> xr.Dataset:
    """Run the config ``text`` and return its result, loaded, without sensitivity indices."""
    folder = tmp_path_factory.mktemp(name)
    cfg = folder / f"{name}.toml"
    cfg.write_text(text)
    out = folder / f"{name}.nc"
    assert main(["run", str(cfg), "--runs", "2000", "--workers", "1", "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    # Whatever this version of `run` writes, start without sensitivity indices.
    return ds.drop_vars([v for v in ("sensitivity", "sensitivity_bin_mean") if v in ds.data_vars])


def with_sensitivity(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with made-up sensitivity indices: `delta_force` leads at 0.6."""
    outcomes = ["ceasefire_2y", "deployed_2y", "reattack_2y", "tripwire_2y", "diff_reattack_2y"]
    parameters = [f"p{k}" for k in range(15)] + ["truce_scale", "delta_force", "intercept.air_defense"]
    shape = tuple(ds.sizes[a] for a in AXES) + (len(outcomes), len(parameters))
    values = np.random.default_rng(0).uniform(0, 0.05, size=shape)
    values[..., parameters.index("delta_force")] = 0.6   # the clear leader
    values[..., 0, 0] = np.nan                            # undefined indices are skipped
    da = xr.DataArray(values, dims=AXES + ("outcome", "parameter"),
                      coords={**{a: ds[a] for a in AXES}, "outcome": outcomes, "parameter": parameters})
    return ds.assign(sensitivity=da)
