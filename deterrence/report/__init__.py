"""Readable output from a result: the terminal table (`table`, `to_json`) and, in a
folder, report.md with its tables, CSV and figures (`write_report`).

Modules: `grid` (the options in words), `tables` (terminal, Markdown, CSV),
`figures` (the result figures), `document` (report.md), `priors`
(`deterrence priors`: the prior table and the figures checking the fits
against the record). Importing this package loads no numba and compiles
nothing; `priors` is imported on its own, as it needs the prior machinery.
The one matplotlib style is `deterrence.style`, a leaf that the analyses'
figures use too; the report imports no analysis."""

from deterrence.report.document import FILES, write_report
from deterrence.report.tables import markdown_table, table, to_json, write_csv

__all__ = ["FILES", "markdown_table", "table", "to_json", "write_csv", "write_report"]
