"""The table of record fits (deterrence/fits.json): it equals a fresh fit,
spares config loading scipy, and is never used once the seeds differ from
the ones it was fitted from."""

import itertools
import json
import shutil

import pytest
from helpers import ROOT, fresh_python

from deterrence import config, fit, record
from deterrence.model import CHOICES

REGENERATE = "regenerate it with `python -m deterrence.fit --write-cache`"


def test_the_table_equals_a_fresh_fit_of_every_key():
    """Same keys, same digest, and every field of every prior exactly, the
    float type included (so the table drifts from neither seeds/ nor fit.py)."""
    shipped = json.loads(fit.FITS.read_text(encoding="utf-8"))
    assert shipped["digest"] == fit.record_digest(), f"fits.json is stale: {REGENERATE}"
    fresh, table = fit.fits_table(), fit.shipped_fits()
    assert list(table) == list(fresh), REGENERATE
    for key, prior in fresh.items():
        assert table[key] == prior and repr(table[key]) == repr(prior), (key, REGENERATE)
        assert all(type(v) is float for _, v in (*prior.params, *table[key].params)), key


def test_the_table_covers_each_record_prior_of_every_model_choice():
    """Every record prior of priors.toml, under every [model] choice and
    every rows choice of a fitted rate, is a key of the table."""
    tables = config.default_prior_tables()
    record_names = [n for n, t in tables.items() if isinstance(t, dict) and t.get("fit") == "record"]
    table = fit.shipped_fits()
    for values in itertools.product(*CHOICES.values()):
        choices = dict(zip(CHOICES, values, strict=True))
        for name in record_names:
            for rows in (None, *(fit.RECORD_ROWS[name].choices if name in fit.RECORD_ROWS else ())):
                key = fit.fit_key(name, rows, choices)
                if key in table:
                    assert fit.record_prior(name, rows=rows, choices=choices) == table[key]
                    assert table[key] == fit.fitted_prior(name, rows=rows, choices=choices)
    assert {"lambda_c0 plain verified_span", "truce_shape cure", "truce_shape strength",
            "lambda_a0 joint post_minsk2", "lambda_a0 rate ceasefire_era"} <= set(table)


def test_loading_the_shipped_configs_needs_no_scipy():
    """In a fresh interpreter: each shipped config, and a config under each
    combination of [model] choices, loads without scipy, with the priors of
    a fresh fit."""
    code = (
        "import itertools, sys\n"
        "from pathlib import Path\n"
        "from deterrence import config, fit\n"
        "from deterrence.model import CHOICES\n"
        "study = {'name': 'x', 'runs': 1000, 'seed': 1}\n"
        "raws = [{'study': study, 'model': dict(zip(CHOICES, v))} for v in itertools.product(*CHOICES.values())]\n"
        "paths = sorted(Path('configs').glob('*.toml'))\n"
        "assert paths\n"
        "loaded = [config.load(p) for p in paths] + [config.parse(r) for r in raws]\n"
        "print('SCIPY', sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
        "def fresh(name, rows, choices):\n"
        "    return fit.fitted_prior(name, rows=rows, choices=choices)\n"
        "again = [config.load(p, fresh) for p in paths] + [config.parse(r, record_fit=fresh) for r in raws]\n"
        "assert [repr(c.priors) for c in loaded] == [repr(c.priors) for c in again]\n")
    proc = fresh_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SCIPY []" in proc.stdout, f"{proc.stdout[-2000:]} (is fits.json stale? {REGENERATE})"


@pytest.fixture
def edited_seeds(tmp_path, monkeypatch):
    """The shipped seeds/ replaced by a copy with one more ceasefire in 2014."""
    seeds = tmp_path / "seeds"
    shutil.copytree(record.location(), seeds)
    path = seeds / "exposures.csv"
    old = "war_before_first_ceasefire_2014,2014-04-12,2014-06-20,1,"
    assert path.read_text(encoding="utf-8").count(old) == 1
    path.write_text(path.read_text(encoding="utf-8").replace(old, old[:-2] + "2,"), encoding="utf-8")
    shipped = record.shipped
    monkeypatch.setattr(record, "shipped", lambda folder: seeds if folder == "seeds" else shipped(folder))
    caches = (fit.fit_record, fit.strength_record_fit, fit.shipped_fits)
    for cache in caches:
        cache.cache_clear()
    yield seeds
    for cache in caches:
        cache.cache_clear()


def test_edited_seeds_are_fitted_not_read_from_the_table(edited_seeds):
    table = json.loads(fit.FITS.read_text(encoding="utf-8"))
    assert fit.record_digest() != table["digest"] and fit.shipped_fits() == {}
    loaded = config.load(ROOT / "configs" / "laptop.toml")
    fresh = config.load(ROOT / "configs" / "laptop.toml", lambda name, rows, choices: fit.fitted_prior(
        name, edited_seeds, rows, choices))
    assert repr(loaded.priors) == repr(fresh.priors)
    stale = table["priors"][fit.fit_key("lambda_c0")]["params"]
    assert loaded.prior("lambda_c0").get("shape") == 2.5 != dict(stale)["shape"]
