"""What the wheel ships: the LICENSE that pyproject names, and the example
configs beside the seeds and batch templates."""

import tomllib
from pathlib import Path

import deterrence

ROOT = Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_file_is_the_one_pyproject_names():
    assert PROJECT["project"]["license"] == "MIT" and PROJECT["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_wheel_holds_the_example_configs():
    shipped = PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert shipped["configs"] == "deterrence/configs"
    assert all((ROOT / folder).is_dir() and target == f"deterrence/{folder}" for folder, target in shipped.items())
    assert (deterrence.shipped("configs") / "laptop.toml").is_file()


def test_wheel_holds_the_table_of_record_fits():
    """fits.json lies inside the package, which the wheel ships whole."""
    from deterrence import fit

    assert PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["deterrence"]
    assert fit.FITS.parent == Path(deterrence.__file__).parent and fit.FITS.is_file()
