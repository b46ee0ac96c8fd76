"""The curated 2014-2022 Donbas record in ``seeds/`` as typed, validated records.

``load(folder)`` reads the five CSV files described in ``seeds/README.md``.
Every malformed value raises :class:`UserError` with one line naming the file,
the row (the header is row 1, the first record row 2, as a spreadsheet shows
them) and the column.
"""

import csv
import datetime
from dataclasses import dataclass
from pathlib import Path

from deterrence import UserError, shipped

END_RULES = ("declared_ended", "major_fighting_reported", "osce_counts_back_to_pre_truce",
             "osce_statement_violence_resumed", "osce_upper_bound", "superseded",
             "unknown_superseded", "war_2022")
INTERVAL_RULE = "osce_upper_bound"          # end_date is only an upper bound on the breakdown
REGIMES = ("truce", "war")
VIOLATION_KINDS = ("count", "aggregate", "mixed")
QUANTITIES = ("ceasefire", "reattack", "retruce")
BOTH_REGIONS = "Donetsk and Luhansk"
# What a literature row's effect measures (seeds/README.md): an effect is used
# for the parameter that models that quantity, e.g. war recurrence for the
# re-attack hazard, not for the collapse of short truces.
MEASURES = ("truce_collapse", "war_recurrence", "violence_intensity", "reattack_deterrence",
            "interception", "engagement", "settlement", "strike_exposure")


@dataclass(frozen=True)
class Truce:
    name: str
    agreed_date: datetime.date | None
    start_date: datetime.date
    end_date: datetime.date
    end_lower_date: datetime.date | None
    censored: bool
    end_rule: str
    source_url: str
    end_source_url: str
    notes: str

    @property
    def interval_censored(self) -> bool:
        """Breakdown only known to lie in (end_lower_date or start, end_date]."""
        return self.end_rule == INTERVAL_RULE and not self.censored

    @property
    def days(self) -> int:
        """end_date - start_date in days (an upper bound if interval-censored)."""
        return (self.end_date - self.start_date).days

    @property
    def lower_days(self) -> int:
        """Earliest possible duration: end_lower_date (or start) - start_date."""
        lower = self.end_lower_date or self.start_date
        return (lower - self.start_date).days


@dataclass(frozen=True)
class Violation:
    period_start: datetime.date
    period_end: datetime.date
    region: str
    regime: str
    violations: int
    kind: str
    source_url: str
    notes: str

    @property
    def days(self) -> int:
        """Days in the period; both dates are inclusive."""
        return (self.period_end - self.period_start).days + 1


@dataclass(frozen=True)
class Offensive:
    name: str
    start_date: datetime.date
    end_date: datetime.date | None
    source_url: str
    notes: str


@dataclass(frozen=True)
class Exposure:
    quantity: str
    phase: str
    start_date: datetime.date
    end_date: datetime.date
    events: int
    source_url: str
    notes: str

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days


@dataclass(frozen=True)
class Literature:
    parameter: str
    quantity: str
    low: float | None
    central: float | None
    high: float | None
    unit: str
    measures: str
    citation: str
    source_url: str
    notes: str


@dataclass(frozen=True)
class Record:
    folder: Path
    truces: tuple[Truce, ...]
    violations: tuple[Violation, ...]
    offensives: tuple[Offensive, ...]
    exposures: tuple[Exposure, ...]
    literature: tuple[Literature, ...]

    def exposure(self, quantity: str) -> tuple[Exposure, ...]:
        return tuple(e for e in self.exposures if e.quantity == quantity)


class _Rows:
    """Rows of one CSV file with typed accessors that fail with file, row and column."""

    def __init__(self, path: Path, required: tuple[str, ...]):
        self.path = path
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                header = reader.fieldnames or []
                self.rows = list(reader)
        except OSError as error:
            raise UserError(f"{path}: cannot read ({error.strerror or error})") from None
        except (UnicodeDecodeError, csv.Error) as error:
            raise UserError(f"{path}: not a readable UTF-8 CSV file ({error})") from None
        for column in required:
            if column not in header:
                self.fail(1, column, "column is missing from the header")
        self.row = 0
        self.current: dict = {}

    def __iter__(self):
        for i, row in enumerate(self.rows):
            self.row, self.current = i + 2, row
            if None in row:
                self.fail(self.row, "(extra field)", "the row has more fields than the header")
            yield self

    def fail(self, row: int, column: str, message: str):
        raise UserError(f"{self.path} row {row}, column {column}: {message}")

    def text(self, column: str, required: bool = True) -> str:
        value = (self.current.get(column) or "").strip()
        if required and not value:
            self.fail(self.row, column, "value is empty")
        return value

    def choice(self, column: str, allowed) -> str:
        value = self.text(column)
        if value not in allowed:
            self.fail(self.row, column, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def date(self, column: str, required: bool = True) -> datetime.date | None:
        value = self.text(column, required)
        if not value:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.fail(self.row, column, f"{value!r} is not a date YYYY-MM-DD")

    def count(self, column: str) -> int:
        value = self.text(column)
        try:
            number = int(value)
        except ValueError:
            self.fail(self.row, column, f"{value!r} is not a whole number")
        if number < 0:
            self.fail(self.row, column, f"{number} is negative; counts are >= 0")
        return number

    def number(self, column: str) -> float | None:
        value = self.text(column, required=False)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            self.fail(self.row, column, f"{value!r} is not a number")

    def flag(self, column: str) -> bool:
        value = self.text(column)
        if value not in ("0", "1"):
            self.fail(self.row, column, f"{value!r} must be 0 or 1")
        return value == "1"

    def not_before(self, later, earlier, later_column: str, earlier_column: str):
        if later is not None and earlier is not None and later < earlier:
            self.fail(self.row, later_column, f"{later} is before {earlier_column} {earlier}")


def _truces(folder: Path) -> tuple[Truce, ...]:
    rows = _Rows(folder / "truces.csv", ("name", "agreed_date", "start_date", "end_date",
                                         "end_lower_date", "censored", "end_rule", "source_url",
                                         "end_source_url", "notes"))
    out, previous_end = [], None
    for r in rows:
        t = Truce(r.text("name"), r.date("agreed_date", False), r.date("start_date"),
                  r.date("end_date"), r.date("end_lower_date", False), r.flag("censored"),
                  r.choice("end_rule", END_RULES), r.text("source_url", False),
                  r.text("end_source_url", False), r.text("notes", False))
        r.not_before(t.start_date, t.agreed_date, "start_date", "agreed_date")
        r.not_before(t.end_date, t.start_date, "end_date", "start_date")
        if t.end_lower_date is not None:
            if t.end_rule != INTERVAL_RULE:
                r.fail(r.row, "end_lower_date", f"only {INTERVAL_RULE} rows have an earliest end date")
            r.not_before(t.end_lower_date, t.start_date, "end_lower_date", "start_date")
            r.not_before(t.end_date, t.end_lower_date, "end_date", "end_lower_date")
        if t.censored != (t.end_rule in ("superseded", "unknown_superseded", "war_2022")):
            r.fail(r.row, "censored", f"{int(t.censored)} does not match end_rule {t.end_rule}")
        if previous_end is not None and t.start_date < previous_end:
            r.fail(r.row, "start_date", f"{t.start_date} overlaps the previous truce (ended {previous_end})")
        previous_end = t.end_date
        out.append(t)
    return tuple(out)


def _violations(folder: Path) -> tuple[Violation, ...]:
    rows = _Rows(folder / "violations.csv", ("period_start", "period_end", "region", "regime",
                                             "violations", "kind", "source_url", "notes"))
    out = []
    for r in rows:
        v = Violation(r.date("period_start"), r.date("period_end"), r.text("region"),
                      r.choice("regime", REGIMES), r.count("violations"),
                      r.choice("kind", VIOLATION_KINDS), r.text("source_url", False),
                      r.text("notes", False))
        r.not_before(v.period_end, v.period_start, "period_end", "period_start")
        out.append(v)
    return tuple(out)


def _offensives(folder: Path) -> tuple[Offensive, ...]:
    rows = _Rows(folder / "offensives.csv", ("name", "start_date", "end_date", "source_url", "notes"))
    out = []
    for r in rows:
        o = Offensive(r.text("name"), r.date("start_date"), r.date("end_date", False),
                      r.text("source_url", False), r.text("notes", False))
        r.not_before(o.end_date, o.start_date, "end_date", "start_date")
        out.append(o)
    return tuple(out)


def _exposures(folder: Path) -> tuple[Exposure, ...]:
    rows = _Rows(folder / "exposures.csv", ("quantity", "phase", "start_date", "end_date", "events",
                                            "source_url", "notes"))
    out = []
    for r in rows:
        e = Exposure(r.choice("quantity", QUANTITIES), r.text("phase"), r.date("start_date"),
                     r.date("end_date"), r.count("events"), r.text("source_url", False),
                     r.text("notes", False))
        r.not_before(e.end_date, e.start_date, "end_date", "start_date")
        out.append(e)
    return tuple(out)


def _literature(folder: Path) -> tuple[Literature, ...]:
    rows = _Rows(folder / "literature.csv", ("parameter", "quantity", "low", "central", "high", "unit",
                                             "measures", "citation", "source_url", "notes"))
    out = []
    for r in rows:
        row = Literature(r.text("parameter"), r.text("quantity"), r.number("low"), r.number("central"),
                         r.number("high"), r.text("unit", False), r.choice("measures", MEASURES),
                         r.text("citation", False), r.text("source_url", False), r.text("notes", False))
        values = [x for x in (row.low, row.central, row.high) if x is not None]
        if values != sorted(values):
            r.fail(r.row, "high", "low, central and high must be in increasing order")
        out.append(row)
    return tuple(out)


def location(folder: str | Path | None = None) -> Path:
    """The record folder: ``folder``, or the shipped seeds/ where None."""
    return Path(folder) if folder is not None else Path(shipped("seeds"))


def load(folder: str | Path | None = None) -> Record:
    """Load and validate the record in ``folder`` (default: the shipped seeds/)."""
    folder = location(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: the record folder does not exist")
    return Record(folder, _truces(folder), _violations(folder), _offensives(folder),
                  _exposures(folder), _literature(folder))
