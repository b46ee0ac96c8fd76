"""The README's promises: its Python example runs on a laptop result, and
its two set-up commands are the ones CI runs."""

import re
from pathlib import Path

from deterrence.cli import main

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_python_example_runs_on_a_laptop_result(tmp_path, capsys):
    out = tmp_path / "laptop.nc"
    assert main(["run", str(ROOT / "configs" / "laptop.toml"), "--runs", "2000", "--out", str(out)]) == 0
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(example.replace("results/laptop.nc", str(out)), {})
    assert "[study]" in capsys.readouterr().out


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^(python3 -m venv .*)$", README, re.M)
    assert len(commands) == 2 and "deterrence run configs/laptop.toml" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
