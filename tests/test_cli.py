"""Bad input: one line naming the field and the fix, exit 2, nothing written."""

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from helpers import study_text

from deterrence.cli import main

GOOD = study_text("tiny")

BAD = {
    "typo in a study key": (GOOD.replace("runs = 2000", "runz = 2000"), "did you mean 'runs'"),
    "unknown axis value": (GOOD.replace('"rear"]', '"reer"]'), "grid.posture"),
    "negative force size": (GOOD.replace("[0, 5000]", "[0, -5000]"), "grid.force_size"),
    "zero horizon": (GOOD.replace("horizon_days = 800", "horizon_days = 0"), "study.horizon_days"),
    "negative runs": (GOOD.replace("runs = 2000", "runs = -1"), "study.runs"),
    "unknown prior family": (GOOD + '[priors.nu]\ndist = "gamma2"\nshape = 1\nscale = 1\n',
                             "priors.nu.dist"),
    "missing hyperparameter": (GOOD + '[priors.nu]\ndist = "gamma"\nshape = 1\n', "priors.nu.scale"),
    "non-finite hyperparameter": (GOOD + '[priors.nu]\ndist = "gamma"\nshape = 1\nscale = nan\n',
                                  "priors.nu.scale"),
    "probability above one": (GOOD + '[priors.q_rear]\ndist = "fixed"\nvalue = 1.5\n', "priors.q_rear"),
    "probability prior unbounded": (GOOD + '[priors.w_rear]\ndist = "gamma"\nshape = 1\nscale = 1\n',
                                    "priors.w_rear"),
    "unknown prior": (GOOD + '[priors.lambda_zz]\ndist = "fixed"\nvalue = 1\n', "lambda_zz"),
    "unknown per-level prior": (GOOD + '[priors.intercept.lasers]\ndist = "fixed"\nvalue = 0.5\n',
                                "intercept.lasers"),
    "not TOML": ("[study\nname = 1", "not valid TOML"),
    "nested axis list": (GOOD.replace('posture = ["rear"]', 'posture = [["rear"]]'), "grid.posture"),
    "nested force sizes": (GOOD.replace("[0, 5000]", "[0, [5000]]"), "grid.force_size"),
    "force size beyond the coordinate": (GOOD.replace("[0, 5000]", "[0, 100000000000000000000]"),
                                         "grid.force_size"),
    "horizon beyond memory": (GOOD.replace("horizon_days = 800", "horizon_days = 10000000000"),
                              "study.horizon_days"),
    "too many blocks": (GOOD.replace("runs = 2000", "runs = 4000000000"), "study.block_runs"),
    "runs beyond exact tallies": (GOOD.replace("runs = 2000", "runs = 1000000000000"), "study.runs"),
    "histograms beyond memory": (GOOD.replace("horizon_days = 800", "horizon_days = 36000")
                                 .replace("[0, 5000]", str(list(range(0, 500_000, 100)))), "study.horizon_days"),
    "NUL in the name": (GOOD.replace('name = "tiny"', 'name = "ti\\u0000ny"'), "study.name"),
    "path in the name": (GOOD.replace('name = "tiny"', 'name = "../../etc/tiny"'), "study.name"),
    "dots in the name": (GOOD.replace('name = "tiny"', 'name = "a..b"'), "study.name"),
    "newline in the name": (GOOD.replace('name = "tiny"', 'name = "ti\\nny"'), "study.name"),
    "unknown table": (GOOD + "[gird]\nposture = ['rear']\n", "did you mean 'grid'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_one_line_and_writes_nothing(case, tmp_path, capsys):
    text, field = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out.nc"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:")
    assert field in err
    assert str(path) in err
    assert list(tmp_path.iterdir()) == [path]


def test_config_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace('"tiny"', '"t\u00e9"').encode("latin-1"))
    assert main(["run", str(path), "--out", str(tmp_path / "out.nc")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "UTF-8" in err and str(path) in err
    assert list(tmp_path.iterdir()) == [path]


def test_unreadable_config(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read config" in capsys.readouterr().err


@pytest.mark.parametrize("args, field", [
    (["--runs", "0"], "--runs"),
    (["--seed", "-3"], "--seed"),
    (["--workers", "0"], "--workers"),
    (["--out", "result.csv"], ".nc"),
    (["--target-se", "0.01", "--max-runs", "0"], "--max-runs"),
    (["--runs", "1.5e3.2"], "--runs"),
    (["--runs", "2.5"], "--runs"),
    (["--runs", "1e30"], "--runs"),
    (["--runs", "lots"], "--runs"),
    (["--seed", "0.5"], "--seed"),
    (["--no-such-option"], "--no-such-option"),
])
def test_bad_options(args, field, tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    if args[0] == "--out":
        args = ["--out", str(tmp_path / args[1])]
    try:
        code = main(["run", str(path), *args])
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and err.startswith("deterrence: error:")
    assert list(tmp_path.iterdir()) == [path]


def test_run_writes_result_and_refuses_overwrite(tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    out = tmp_path / "tiny.nc"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "re-attack" in table and "5000 rear" in table
    ds = xr.open_dataset(out)
    assert int(ds.runs.max()) == 2000 and ds.reattack_day.sizes["day"] == 801
    assert ds.attrs["config"] == GOOD and ds.attrs["seed"] == "7"
    ds.close()
    before = out.read_bytes()
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.toml", "tiny.nc"]


def test_zarr_output_and_report(tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    out = tmp_path / "tiny.zarr"
    assert main(["run", str(path), "--out", str(out), "--runs", "1e3"]) == 0  # as the README writes counts
    capsys.readouterr()
    ds = xr.open_dataset(out, engine="zarr")
    assert int(ds.runs.max()) == 1000
    assert main(["report", str(out)]) == 0
    assert "tripwire" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing.nc")]) == 2


def test_python_dash_m_works(tmp_path):
    done = subprocess.run([sys.executable, "-m", "deterrence", "--version"], capture_output=True,
                          text=True, cwd=Path(__file__).parent)
    assert done.returncode == 0 and done.stdout.startswith("deterrence ")


def test_a_run_the_priors_cannot_compute_leaves_nothing(tmp_path, capsys):
    """A kernel fault (counts beyond the exact tallies) ends in one line and
    exit 2, with no result, checkpoint, lock or temporary left behind."""
    path = tmp_path / "huge.toml"
    path.write_text(GOOD.replace("horizon_days = 800", "horizon_days = 3000")
                    + '[priors.sigma_war]\ndist = "fixed"\nvalue = 1e9\n')
    assert main(["run", str(path), "--out", str(tmp_path / "out.nc"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("deterrence: error:") and "strikes" in err[-1]
    assert list(tmp_path.iterdir()) == [path]
