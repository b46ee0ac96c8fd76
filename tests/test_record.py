"""The record in seeds/ loads into typed rows; malformed copies fail with one
line naming the file, the row and the column; `deterrence priors --out`
writes every file it lists."""

import csv
import shutil
from pathlib import Path

import pytest

from deterrence import UserError, fit, record, shipped
from deterrence.cli import main
from deterrence.model import PARAMETER_NAMES

SEEDS = Path(shipped("seeds"))


def test_shipped_record_loads():
    rec = record.load()
    assert (len(rec.truces), len(rec.violations), len(rec.offensives), len(rec.exposures),
            len(rec.literature)) == (24, 105, 3, 28, 18)
    assert sum(t.censored for t in rec.truces) == 2
    assert sum(t.interval_censored for t in rec.truces) == 11
    assert all(0 <= t.lower_days <= t.days for t in rec.truces)
    kinds = [v.kind for v in rec.violations]
    assert kinds.count("aggregate") == 2 and kinds.count("mixed") == 5
    assert {e.quantity for e in rec.exposures} == set(record.QUANTITIES)
    assert len(rec.exposure("retruce")) == 21
    # Durations are end - start; a one-day OSCE period has days == 1.
    minsk2 = next(t for t in rec.truces if t.name.startswith("Minsk II"))
    assert minsk2.days == 108
    assert rec.violations[0].days == 1


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def _edit(path: Path, row: int, column: str, value=None, drop=False):
    """Set one cell (row counts the header as row 1) or drop a column."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index(column)
    if drop:
        rows = [r[:col] + r[col + 1:] for r in rows]
    else:
        rows[row - 1][col] = value
    with open(path, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


CASES = {
    "missing column": ("truces.csv", 1, "end_rule", None, True),
    "unparseable date": ("violations.csv", 6, "period_start", "2017-13-45", False),
    "end before start": ("truces.csv", 4, "end_date", "2014-11-01", False),
    "negative count": ("exposures.csv", 9, "events", "-1", False),
    "negative violations": ("violations.csv", 3, "violations", "-5", False),
    "censored not 0/1": ("truces.csv", 10, "censored", "2", False),
    "unknown end_rule": ("truces.csv", 5, "end_rule", "vibes", False),
    "not a number": ("literature.csv", 2, "low", "a quarter", False),
    "unknown measure": ("literature.csv", 3, "measures", "vibes", False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_record_names_file_row_and_column(case, tmp_path):
    name, row, column, value, drop = CASES[case]
    folder = _copy(tmp_path)
    _edit(folder / name, row, column, value, drop)
    with pytest.raises(UserError) as error:
        record.load(folder)
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert name in message and f"row {row}," in message and f"column {column}" in message


def test_missing_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        record.load(tmp_path / "nowhere")


def test_priors_cli_writes_every_listed_file(tmp_path, capsys):
    out = tmp_path / "priors"
    assert main(["priors", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    listed = text.split("Wrote:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    paths = [Path(line.split()[0]) for line in listed]
    assert {p.name for p in paths} == {"priors.csv", "truce_survival.png", "violations_nb.png",
                                        "truce_ppc.png"}
    for path in paths:
        assert path.parent == out and path.is_file() and path.stat().st_size > 1000
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    with open(out / "priors.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # The record fits, plus p_durable (cure fit) and p_durable_first (literature row).
    assert len(rows) == len(PARAMETER_NAMES) and sum(r["fit"] == "record" for r in rows) == len(fit.FITTED) + 2
    assert "predictive check" in text.strip().splitlines()[-1]


def test_priors_cli_without_out_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["priors"]) == 0
    assert "truce_shape" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_war_recurrence_effects_are_not_truce_collapse_effects():
    """Literature rows say what they measure; a war-recurrence effect never
    feeds the collapse of short truces (m_collapse)."""
    rec = record.load()
    assert {row.measures for row in rec.literature} <= set(record.MEASURES)
    measured = {(row.parameter, row.measures) for row in rec.literature}
    assert ("m_collapse", "war_recurrence") not in measured
    assert ("delta_force", "war_recurrence") in measured
    assert all(row.measures == "truce_collapse" for row in rec.literature if row.parameter == "m_collapse")
