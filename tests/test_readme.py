"""The README's promises: its Python examples run, and its two set-up
commands are the ones CI runs."""

import re
from pathlib import Path

import pytest

from deterrence.cli import main

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def python_block(heading: str) -> str:
    """The first ```python block of the README section under ``heading``."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def laptop_result(tmp_path, monkeypatch, capsys):
    """Run from a fresh folder holding results/laptop.nc (a small laptop
    study), as after the README's quick start."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(ROOT / "configs" / "laptop.toml"), "--runs", "2000"]) == 0
    assert (tmp_path / "results" / "laptop.nc").is_file()
    capsys.readouterr()


def run_example(code: str) -> None:
    exec(code.replace('"configs/', f'"{ROOT}/configs/'), {})


def test_every_python_block_is_tested():
    assert len(re.findall(r"```python\n", README)) == 2


def test_python_example_runs_on_a_laptop_result(laptop_result, capsys):
    run_example(python_block("Using it"))
    assert "[study]" in capsys.readouterr().out


def test_from_python_example_runs(laptop_result, tmp_path, capsys):
    code = python_block("From Python")
    assert all(f"deterrence.{name}(" in code for name in ("load_config", "run_study", "open_result"))
    run_example(code)
    p, se = (float(x) for x in capsys.readouterr().out.split())
    assert 0 < p < 1 and 0 < se < 0.05    # over 40 parameter draws: the draws, not the runs, are the units
    assert (tmp_path / "results" / "laptop_20000.nc").is_file()


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^(python3 -m venv .*)$", README, re.M)
    assert len(commands) == 2 and "deterrence run configs/laptop.toml" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_trace_example_is_what_trace_prints(capsys):
    block = re.search(r"```\n\$ (deterrence trace .*?)\n(.*?)```", README, re.S)
    command, shown = block.group(1), block.group(2)
    argv = [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', command)][1:]
    argv[1] = str(ROOT / argv[1])
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    lines = [line for line in shown.splitlines() if line.strip() != "..."]
    assert len(lines) > 5 and all(line in printed for line in lines)
    start = printed.index(lines[0])
    assert printed[start:start + len(lines)] == lines


def test_usage_names_only_flags_the_commands_take():
    from deterrence.cli import parser

    commands = parser()._subparsers._group_actions[0].choices
    usage = README.split("\n## Using it\n", 1)[1].split("```", 2)[1]
    current = None
    for line in usage.splitlines():
        if line.startswith("deterrence "):
            current = commands[line.split()[1]]
        if current is None:
            continue
        taken = {s for action in current._actions for s in action.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line):
            assert flag in taken, (line, flag)
