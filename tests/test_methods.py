"""deterrence.methods: the analysis commands as registry rows. A new
command is its module plus one row; its shared flags and their defaults
come from one place."""

import json

from deterrence import cli, experiment
from deterrence.arguments import add_json, add_options, add_runs_per_draw
from deterrence.methods import METHODS, Method


def test_a_new_method_is_one_row(monkeypatch, capsys):
    """A ``paired-table`` method (not shipped): its flags and its run, one row, and the CLI has the command."""
    def flags(p):
        p.add_argument("config")
        add_options(p)
        add_runs_per_draw(p)
        add_json(p, "the pair")

    def run(args):
        found = {"config": args.config, "a": args.a, "b": args.b, "runs_per_draw": args.runs_per_draw}
        print(json.dumps(found) if args.json else " ".join(f"{k}={v}" for k, v in found.items()))
        return 0

    row = Method("paired-table", "the pair A, B as a table", flags, run)
    monkeypatch.setattr(cli, "METHODS", (*METHODS, row))
    assert cli.main(["paired-table", "c.toml", "--a", "force_size=5000", "--runs-per-draw", "40", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"config": "c.toml", "a": "force_size=5000", "b": None,
                                                   "runs_per_draw": 40}
    help_text = cli.parser().format_help()
    assert "paired-table" in help_text and "the pair A, B as a table" in help_text


def test_every_row_is_a_command_with_its_help():
    commands = cli.parser()._subparsers._group_actions[0].choices
    for method in METHODS:
        assert commands[method.name].get_default("func") is method.run
        assert method.help


def test_defaults_are_declared_once(capsys):
    """The replayed analyses' help shows experiment's defaults, and explain and decide use them."""
    from deterrence import claims, decide, explain, sensitivity

    commands = cli.parser()._subparsers._group_actions[0].choices
    for name in ("explain", "decide"):
        text = commands[name].format_help()
        assert f"default {experiment.DRAWS}" in text and f"or {experiment.RUNS_PER_DRAW} if it is 1" in text
    assert explain.DRAWS == decide.DRAWS == experiment.DRAWS
    assert commands["sensitivity"].get_default("draws") == sensitivity.DRAWS
    assert commands["sensitivity"].get_default("runs_per_draw") == sensitivity.RUNS_PER_DRAW
    assert commands["claims"].get_default("draws") == claims.DRAWS
