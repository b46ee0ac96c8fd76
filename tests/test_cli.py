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
    "negative truce strength variance": (GOOD + '[model]\ntruces = "strength"\n[priors.strength_var]\n'
                                         'dist = "fixed"\nvalue = -0.5\n', "priors.strength_var"),
    "truce strength variance unbounded below": (
        GOOD + '[model]\ntruces = "strength"\n[priors.strength_var]\ndist = "uniform"\nlow = -1\nhigh = 1\n',
        "priors.strength_var"),
    "truce strength variance without strength": (GOOD + '[priors.strength_var]\ndist = "fixed"\nvalue = 0.5\n',
                                                 "priors.strength_var has no effect"),
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


# One option grammar: --a A and --b B on every command that takes options (a
# missing --b, or --b alone, is the study's baseline); --options for lists.
# Each old flag works for one release, with a one-line note on stderr.
A, B = "force_size=5000", "force_size=0,leverage=assets_and_aid"
GRAMMAR = {   # command: its arguments before the options
    "compare": ["c.toml"], "explain": ["c.toml"], "sensitivity": ["c.toml"], "decide": ["c.toml"],
    "report": ["r.nc", "--out", "rep"], "trace": ["c.toml", "--run", "0"],
}
OLD = [   # (command, old flags, the new flags they mean)
    ("explain", ["--option", A, "--vs", B], ["--a", A, "--b", B]),
    ("sensitivity", ["--option", A, "--vs", B], ["--a", A, "--b", B]),
    ("sensitivity", ["--option", A, "--vs"], ["--a", A, "--b"]),
    ("report", ["--explain", A, "--vs", B], ["--a", A, "--b", B]),
    ("trace", ["--option", A], ["--a", A]),
]
TABLES = ("run", "report", "compare", "explain", "decide", "sensitivity", "priors", "validate", "trace")


def parse(argv):
    from deterrence.cli import parser

    return parser().parse_args(argv)


@pytest.mark.parametrize("command", sorted(GRAMMAR))
def test_every_command_takes_a_and_b(command, capsys):
    args = parse([command, *GRAMMAR[command], "--a", A] + ([] if command == "trace" else ["--b", B]))
    assert args.a == A and getattr(args, "b", B) == B and args.old_flags == ()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command, old, new", OLD, ids=[f"{c} {' '.join(o[::2])}" for c, o, _ in OLD])
def test_old_flags_still_work_with_a_note(command, old, new, capsys):
    then, now = (parse([command, *GRAMMAR[command], *flags]) for flags in (old, new))
    assert (then.a, getattr(then, "b", None)) == (now.a, getattr(now, "b", None))
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == len([f for f in old if f.startswith("--")])
    assert all(n.startswith("deterrence: note: --") and "is now --" in n for n in notes)


@pytest.mark.parametrize("command", TABLES)
def test_every_command_that_prints_a_table_takes_json(command):
    argv = {"priors": [], "validate": [], "run": ["c.toml"]}.get(command, GRAMMAR.get(command))
    needs_a = command in ("compare", "explain", "sensitivity")
    assert parse([command, *argv, *(["--a", A] if needs_a else []), "--json"]).json is True


class Called(Exception):
    """Raised by a stand-in for the library: what the CLI passed it."""


@pytest.mark.parametrize("argv, flags", [
    (["explain", "--a", A], {"versus": None}),
    (["explain", "--a", A, "--b"], {"versus": "baseline"}),
    (["sensitivity", "--a", A], {"vs": "baseline"}),
    (["sensitivity", "--a", A, "--b"], {"vs": "baseline"}),
    (["sensitivity", "--a", A, "--alone"], {"vs": None}),
    (["sensitivity", "--option", A], {"vs": None}),          # the old spelling keeps its old meaning
    (["decide", "--a", A], {"options": "baseline"}),
])
def test_a_missing_b_is_the_baseline(argv, flags, study, monkeypatch, capsys):
    from deterrence import config, decide, explain, sensitivity

    baseline = config.load(study).study.baseline

    def stand_in(*args, **kwargs):
        raise Called(args, kwargs)
    for module, name in ((explain, "explain"), (sensitivity, "indices"), (decide, "decide")):
        monkeypatch.setattr(module, name, stand_in)
    with pytest.raises(Called) as called:
        main([argv[0], str(study), *argv[1:], "--workers", "1"])
    args, kwargs = called.value.args
    if argv[0] == "decide":
        assert list(args[1]) == [config.Option(**{**vars(baseline), "force_size": 5000}), baseline]
    else:
        (key, want), = flags.items()
        got = args[2] if len(args) > 2 else kwargs.get(key)
        assert got == (baseline if want == "baseline" else None)


@pytest.mark.parametrize("argv, flag", [
    (["explain", "--a", A, "--b", "posture=sideways"], "--b"),
    (["sensitivity", "--a", A, "--b", "postur=rear"], "--b"),
    (["sensitivity", "--a", "leverage=gold"], "--a"),
    (["decide", "--options", "force_size=0;leverage=gold"], "--options"),
    (["decide", "--a", A, "--b", "force_size=x"], "--b"),
    (["compare", "--a", A, "--b", "posture=sideways"], "--b"),
    (["trace", "--run", "0", "--a", "posture=front"], "--a"),
])
def test_a_bad_option_names_its_own_flag(argv, flag, study, capsys):
    assert main([argv[0], str(study), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    wrong = {"--a": "--b", "--b": "--a", "--options": "--a"}[flag]
    assert len(err) == 1 and err[0].startswith("deterrence: error:") and flag in err[0]
    assert wrong not in err[0] and "--option " not in err[0] and "--option." not in err[0]


@pytest.mark.parametrize("argv, field", [
    (["decide", "CFG", "--b", A], "--b needs --a"),
    (["decide", "CFG", "--a", A, "--options", "all"], "not both"),
    (["sensitivity", "CFG", "--a", A, "--b", B, "--alone"], "--alone"),
    (["report", "RESULT", "--a", A], "needs --out"),
    (["report", "RESULT", "--out", "rep", "--b", B], "--b needs --a"),
    (["compare", "CFG", "--a", A, "--outcome", "reattack_3y"], "--outcome"),
    (["run", "CFG", "--outcome", "war"], "--outcome"),
])
def test_contradictory_options_stop_in_one_line(argv, field, study, tmp_path, capsys):
    argv = [{"CFG": str(study), "RESULT": str(tmp_path / "r.nc"), "rep": str(tmp_path / "rep")}.get(a, a)
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("deterrence: error:") and field in err[-1]


@pytest.mark.parametrize("argv, field", [
    (["validate", "--out", "FILE"], "validate --out"),
    (["priors", "--out", "FILE"], "priors --out"),
    (["sensitivity", "CFG", "--a", A, "--out", "fig.txt"], ".png"),
    (["sensitivity", "CFG", "--a", A, "--out", "file/fig.png"], "not a folder"),
    (["explain", "CFG", "--a", A, "--out", "FOLDER"], "not a file"),
])
def test_every_out_is_checked_before_any_work(argv, field, study, tmp_path, monkeypatch, capsys):
    from deterrence import fit, replay, validate

    (tmp_path / "file").write_text("")
    (tmp_path / "folder.png").mkdir()

    def no_work(*args, **kwargs):
        raise AssertionError("work started before --out was checked")
    for module, name in ((validate, "validate"), (fit, "fit_record"), (replay, "replay")):
        monkeypatch.setattr(module, name, no_work)
    paths = {"FILE": tmp_path / "file", "CFG": study, "FOLDER": tmp_path / "folder.png"}
    argv = [str(paths.get(a, tmp_path / a if "/" in a or a.endswith((".png", ".pdf")) else a)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deterrence: error:") and field in err[0]


def test_run_and_report_print_json(study, tmp_path, capsys):
    import json

    out = tmp_path / "tiny.nc"
    assert main(["run", str(study), "--out", str(out), "--workers", "1", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["runs"] == 2000 and len(found["options"]) == 2 and found["intervals"] is False
    assert main(["report", str(out), "--json", "--outcome", "strikes"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["options"] == found["options"] and list(again["effects"]) == ["strikes"]
    with xr.open_dataset(out) as ds:
        assert again["options"][1]["p_reattack"]["value"] == float(ds.p_reattack.sel(years=2)[1].item())


def test_priors_and_validate_print_json(capsys):
    import json

    assert main(["priors", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"parameter", "family", "mean", "p05", "p95", "source"} <= set(rows[0])
    assert len([r for r in rows if r["fit"] == "record"]) >= 5
    assert main(["validate", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert checks and {"quantity", "item", "observed", "interval_50", "inside_90"} <= set(checks[0])
