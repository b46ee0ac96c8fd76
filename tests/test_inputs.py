"""Every typed value ends in one line: numeric flags and option strings in
ASCII digits within their bounds, figure and folder paths checked before
any work, memory estimated before any allocation, and checkpoints checked
against the plan. Hypothesis fuzzes each surface; each example ends in one
`deterrence: error:` line with exit 2 (or a UserError of one line), or in
a correct value."""

import argparse
import dataclasses
import os

import numpy as np
import pytest
from helpers import write_study
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deterrence import UserError, __version__, cli, config, decide, results, runner, trace
from deterrence.cli import main
from deterrence.plan import make_plan

# More examples for a longer search: DETERRENCE_FUZZ_EXAMPLES=500.
EXAMPLES = int(os.environ.get("DETERRENCE_FUZZ_EXAMPLES", 60))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:"), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


# ------------------------------------------------------------ numeric flags

# Each command's numeric flags, with the arguments it needs besides.
COMMANDS = {
    "run": (["c.toml"], ["--runs", "--seed", "--workers", "--max-runs", "--target-se"]),
    "report": (["r.nc"], ["--year", "--draws", "--runs-per-draw", "--workers"]),
    "trace": (["c.toml"], ["--run"]),
    "sensitivity": (["c.toml", "--a", "force_size=5000"], ["--draws", "--runs-per-draw", "--workers"]),
    "explain": (["c.toml", "--a", "force_size=5000"],
                ["--draws", "--runs-per-draw", "--depth", "--resamples", "--margin", "--workers"]),
    "compare": (["c.toml", "--a", "force_size=5000"], ["--runs", "--runs-per-draw", "--workers"]),
    "decide": (["c.toml"], ["--draws", "--runs-per-draw", "--workers"]),
}
NUMBERS = st.one_of(
    st.sampled_from(["0", "1", "-1", "5", "+5", "1e3", "2.5", "1e99", "nan", "inf", "", " ", "５", "٣", "5²000", "²",
                     "1_000", "0x10", "1e6", "4294967295", "4294967296", "18446744073709551616", "9" * 5000,
                     "0.002", ".5", "1.", "1e-3", "-0"]),
    st.integers(-2**70, 2**70).map(str),
    st.text(st.characters(codec="utf-8"), max_size=6))


@FUZZ
@given(st.sampled_from(sorted(COMMANDS)), st.data())
def test_numeric_flags_parse_or_end_in_one_line(capsys, command, data):
    """Parsing alone (no command runs): a value in ASCII digits within its
    flag's bounds, or one line and exit 2."""
    given_args, flags = COMMANDS[command]
    flag = data.draw(st.sampled_from(flags))
    text = data.draw(NUMBERS)
    try:
        args = cli.parser().parse_args([command, *given_args, flag, text])
    except SystemExit as stopped:
        assert stopped.code == 2
        one_line(capsys, flag)
        return
    assert text.strip().isascii()
    value = getattr(args, flag.lstrip("-").replace("-", "_"))
    if flag in ("--target-se", "--margin"):
        assert np.isfinite(value)
    else:
        assert isinstance(value, int)
        assert value >= (0 if flag in ("--seed", "--run") else 1)


@pytest.mark.parametrize("argv, words", [
    (["sensitivity", "c.toml", "--a", "force_size=5000", "--workers", "-1"], ["--workers", "from 1"]),
    (["run", "c.toml", "--runs", "５"], ["--runs", "ASCII"]),
    (["run", "c.toml", "--runs", "4294967296"], ["--runs", "4,294,967,295"]),
    (["report", "r.nc", "--year", "２"], ["--year"]),
    (["explain", "c.toml", "--a", "x", "--margin", "nan"], ["--margin"]),
    (["explain", "c.toml", "--a", "x", "--depth", "1000"], ["--depth"]),
])
def test_numeric_flag_cases(capsys, argv, words):
    with pytest.raises(SystemExit) as stopped:  # argparse's usage errors
        main(argv)
    assert stopped.value.code == 2
    one_line(capsys, *words)


def test_whole_number_keeps_the_readme_forms():
    assert cli.whole_number("1e6") == 1_000_000 and cli.whole_number(" 20000 ") == 20000
    for text in ("５", "5²", "1_000", "1.5", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.whole_number(text)


# ------------------------------------------------------------ option strings

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    return write_study(folder / "tiny.toml", "tiny")


LEVEL_TEXT = st.one_of(st.sampled_from(["5000", "5²000", "５000", "٥٠٠٠", "-5", "9" * 5000, "1e3", "rear", "",
                                        "contact_line", "=", ","]),
                       st.text(st.characters(codec="utf-8"), max_size=8))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["force_size", "posture", "support", "leverage", "deploy_rule", "x"]),
                          LEVEL_TEXT), max_size=3), st.sampled_from([",", ";"]))
def test_option_strings_parse_or_end_in_one_line(tiny, pairs, sep):
    """An option string (run's --option, compare's --a, decide's --options)
    is an Option of ASCII levels, or one UserError line."""
    cfg = config.load(tiny)
    text = sep.join(f"{axis}={level}" for axis, level in pairs)
    try:
        options = decide.parse_options(text, cfg) if sep == ";" else [trace.parse_option(text, cfg.study.baseline)]
    except UserError as error:
        assert str(error) and "\n" not in str(error)
        return
    for option in options:
        assert isinstance(option.force_size, int) and 0 <= option.force_size <= config.MAX_FORCE_SIZE


def test_unicode_digits_in_an_option_end_in_one_line(tiny, capsys):
    for argv in (["compare", str(tiny), "--a", "force_size=5²000"],
                 ["decide", str(tiny), "--options", "force_size=0;force_size=５000"],
                 ["trace", str(tiny), "--run", "1", "--a", "force_size=5²000"]):
        assert main(argv) == 2
        one_line(capsys, "force_size")


# ------------------------------------------------------------ output paths

NAMES = st.one_of(st.sampled_from(["x.png", "x.PDF", "x.svg", "x.txt", "x", ".png", "x.png/", "x.jpg", "a\0b.png",
                                   "f.toml/x.png", "missing/dir/x.png", "link.png", "dir", "dir.png"]),
                  st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=8))


@FUZZ
@given(NAMES, st.sampled_from(["explain", "sensitivity"]))
def test_figure_paths_are_checked_before_any_work(tmp_path, capsys, name, command):
    """With a config that does not exist, a bad --out must be what the one
    line names: the path is checked first."""
    (tmp_path / "f.toml").write_text("")
    (tmp_path / "dir.png").mkdir(exist_ok=True)
    if not os.path.lexists(tmp_path / "link.png"):
        (tmp_path / "link.png").symlink_to(tmp_path / "nowhere")
    out = f"{tmp_path}/{name}"
    assert main([command, str(tmp_path / "no.toml"), "--a", "force_size=5000", "--out", out]) == 2
    err = one_line(capsys)
    try:
        good = results.figure_path(out)
    except UserError:
        assert "--out" in err
        return
    assert good.parent.is_dir() and good.suffix.lower() in results.FIGURE_SUFFIXES
    assert "no.toml" in err


@pytest.mark.parametrize("argv", [["validate", "--out", "{file}"], ["priors", "--out", "{file}"],
                                  ["explain", "{missing}", "--a", "x", "--out", "x.txt"],
                                  ["sensitivity", "{missing}", "--a", "x", "--out", "{file}/x.png"]])
def test_bad_output_paths_end_in_one_line(tmp_path, capsys, argv):
    file = tmp_path / "file"
    file.write_text("keep me")
    argv = [a.format(file=file, missing=tmp_path / "no.toml") for a in argv]
    assert main(argv) == 2
    one_line(capsys, "--out")
    assert file.read_text() == "keep me"


def test_a_missing_figure_folder_is_created(tmp_path):
    path = results.figure_path(tmp_path / "a" / "b" / "x.png")
    assert path.parent.is_dir() and not path.exists()


# ------------------------------------------------------------ memory before allocation

@pytest.mark.parametrize("argv", [
    ["decide", "{cfg}", "--draws", "200000000", "--runs-per-draw", "2"],
    ["sensitivity", "{cfg}", "--a", "force_size=5000", "--draws", "10000000", "--runs-per-draw", "1"],
    ["explain", "{cfg}", "--a", "force_size=5000", "--draws", "100000000", "--runs-per-draw", "2"],
])
def test_a_huge_draws_ends_in_one_line(tiny, capsys, argv):
    assert main([a.format(cfg=tiny) for a in argv]) == 2
    one_line(capsys, "--draws", "GiB")


# ------------------------------------------------------------ checkpoints

@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """A nested study (20 runs per draw) stopped after blocks 0 and 2 of 4."""
    folder = tmp_path_factory.mktemp("checkpoint")
    text = (write_study(folder / "tiny.toml", "tiny").read_text()
            .replace("runs = 2000", "runs = 2000\nruns_per_draw = 20"))
    (folder / "nested.toml").write_text(text)
    cfg = config.load(folder / "nested.toml")
    plan = make_plan(cfg)
    total = runner.run_block(plan, 0, 500).__iadd__(runner.run_block(plan, 1000, 1500))
    return cfg, plan, total, np.array([True, False, True, False])


def saved_content(total, done) -> dict:
    return {"meta": np.array("{}"), "runs": np.array(total.runs), "done": done,
            **{k: v.copy() for k, v in total.arrays().items()}}


def write_checkpoint(path, content: dict, digest: bool = True) -> None:
    with open(path, "wb") as f:
        np.savez(f, **({"sha256": runner._digest(content)} if digest else {}), **content)


MUTATIONS = ("one row", "last entry dropped", "int32", "float64", "plus one", "minus one", "reattacks never",
             "rows swapped", "zeros")


def mutate(value: np.ndarray, how: str, where: int) -> np.ndarray:
    if value.ndim == 0 or how in ("plus one", "minus one"):
        flat = value.copy().reshape(-1)
        if flat.size:
            flat[where % flat.size] += 1 if how == "plus one" else -1
        return flat.reshape(value.shape)
    if how == "one row":
        return value[:1]
    if how == "last entry dropped":
        return value[..., :-1]
    if how in ("int32", "float64"):
        return value.astype(how)
    if how == "reattacks never" and value.ndim == 3 and value.shape[1] == 4:
        moved = value.copy()
        moved[:, 2, -1] = moved[:, 2].sum(axis=1)
        moved[:, 2, :-1] = 0
        return moved
    if how == "rows swapped" and value.shape[0] > 1:
        return value[::-1].copy()
    return np.zeros_like(value)


@FUZZ
@given(st.sampled_from(["hist", "moments", "paired", "after_ceasefire", "sensitivity", "sensitivity_runs",
                        "draw_hist", "draw_diff", "done", "runs"]),
       st.sampled_from(MUTATIONS), st.integers(0, 10**6), st.booleans())
def test_mutated_checkpoints_load_or_end_in_one_line(partial, tmp_path, name, how, where, digest):
    """A mutated checkpoint, its digest recomputed or not: refused in one
    line, or loaded with every array as a total of the plan has it."""
    cfg, plan, total, done = partial
    content = saved_content(total, done)
    content[name] = mutate(content[name], how, where)
    path = tmp_path / "c.npz"
    write_checkpoint(path, content, digest)
    try:
        tallies, flags = runner.Checkpoint(path, {}).load(plan)
    except UserError as error:
        assert "\n" not in str(error) and "damaged checkpoint" in str(error)
        return
    block = runner.run_block(plan, 0, 0).widened()      # a total's arrays
    for array, value in block.arrays().items():
        assert getattr(tallies, array).shape == value.shape and getattr(tallies, array).dtype == value.dtype
    assert (tallies.hist.sum(axis=2) == tallies.runs).all() and flags.shape == (len(plan.blocks),)


def test_a_checkpoint_with_one_option_row_on_resume(partial, tmp_path, capsys):
    """The digest right, the arrays of another plan: "damaged checkpoint", not a broadcasting error."""
    cfg, plan, total, done = partial
    study = tmp_path / "nested.toml"
    study.write_text(cfg.text)
    out = tmp_path / "r.nc"
    meta = {"config_sha256": cfg.sha256, "seed": cfg.study.seed, "runs": cfg.study.runs,
            "block_runs": plan.block_runs, "version": __version__, "target_se": None}
    short = dataclasses.replace(total, **{k: v[:1] for k, v in total.arrays().items() if k not in
                                          ("sensitivity", "sensitivity_runs")})
    runner.Checkpoint(tmp_path / "r.nc.checkpoint.npz", meta).save(short, done)
    assert main(["run", str(study), "--out", str(out), "--resume", "--workers", "1"]) == 2
    one_line(capsys, "damaged checkpoint", "hist")
    assert not out.exists()


def test_a_consistent_edit_of_the_histograms_alone_is_refused(partial, tmp_path):
    """Every re-attack moved to "never", the digest recomputed: the paired
    and per-draw tallies still count them."""
    cfg, plan, total, done = partial
    content = saved_content(total, done)
    content["hist"] = mutate(content["hist"], "reattacks never", 0)
    write_checkpoint(tmp_path / "c.npz", content)
    with pytest.raises(UserError, match="damaged checkpoint.*paired"):
        runner.Checkpoint(tmp_path / "c.npz", {}).load(plan)
