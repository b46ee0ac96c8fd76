"""deterrence: Monte Carlo risk that a ceasefire in Ukraine fails, per policy option.

From Python::

    import deterrence
    ds = deterrence.run_study("configs/laptop.toml", runs=20000)
"""

__version__ = "0.1.0"
__all__ = ["UserError", "load_config", "open_result", "run_study"]
_API = ("load_config", "open_result", "run_study")


class UserError(Exception):
    """A mistake in the user's input: printed as one line by the CLI."""


def shipped(folder: str):
    """A folder shipped with the project (seeds, jobs): inside the installed
    package, or at the top of a source checkout."""
    from pathlib import Path

    inside = Path(__file__).parent / folder
    return inside if inside.is_dir() else Path(__file__).parent.parent / folder


def __getattr__(name: str):
    # The API is imported on first use, so `import deterrence` loads
    # neither numba nor xarray.
    if name in _API:
        from deterrence import study

        return getattr(study, name)
    raise AttributeError(f"module 'deterrence' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
