"""deterrence: Monte Carlo risk that a ceasefire in Ukraine fails, per policy option."""

__version__ = "0.1.0"


class UserError(Exception):
    """A mistake in the user's input: printed as one line by the CLI."""


def shipped(folder: str):
    """A folder shipped with the project (seeds, jobs): inside the installed
    package, or at the top of a source checkout."""
    from pathlib import Path

    inside = Path(__file__).parent / folder
    return inside if inside.is_dir() else Path(__file__).parent.parent / folder
