"""deterrence: Monte Carlo risk that a ceasefire in Ukraine fails, per policy option."""

__version__ = "0.1.0"


class UserError(Exception):
    """A mistake in the user's input: printed as one line by the CLI."""
