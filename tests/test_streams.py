"""Stable random streams: a parameter's draws hang on its permanent stream
id (model.STREAMS), never on its position, so adding a level, a parameter
or a channel changes no other parameter's draws.

The digest pins every tally of a small study with the default priors
(tests/data/grid48.toml: 4,000 runs in draws of 20): a refactor that keeps the
streams keeps it bit for bit."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_kernel, write_study

from deterrence import config, model
from deterrence.plan import make_plan
from deterrence.tallies import ARRAYS

# The digest was 44a18ad698d2a46c before the stream ids were made explicit
# (positional streams, commit 789f174) and the same after (explicit ids,
# equal to those positions: no result changed). The claims' new parameters
# and priors (nu with both signs, nu_now, strike deterrence, provocation)
# then changed the model, and so the digest, once, by design; every other
# parameter kept its stream. The per-draw after-ceasefire tallies (after_hist,
# after_noise, after_moments) then added arrays to the digest: over the ten
# arrays before them it is still 182d05e64d99aecf, and truce strength (a new
# parameter and run-level stream, neutral under the default choice) kept it.
DIGEST = "1bd23c9d458ba133"


def study_digest(tallies) -> str:
    h = hashlib.sha256(str(tallies.runs).encode())
    for name in ARRAYS:
        a = getattr(tallies, name)
        h.update(name.encode())
        if a is not None:
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


def small_study(tmp_path):
    path = write_study(tmp_path / "grid48.toml", "grid48", runs=4000, block_runs=1000)
    text = path.read_text().replace("[study]", "[study]\nruns_per_draw = 20", 1)
    path.write_text(text)
    return run_kernel(make_plan(config.load(path)))


def test_small_study_digest_is_pinned(tmp_path):
    assert study_digest(small_study(tmp_path)) == DIGEST


# Draws 0-29 of every parameter, as the kernel draws them, under the default
# priors of the package at PYTHONPATH (printed as JSON by name).
DRAWS_SCRIPT = """
import json, sys
import numpy as np
import pytest
from deterrence import config, kernels, rng
from deterrence.model import PARAMETER_NAMES
from deterrence import model
from deterrence.plan import make_plan
kp = make_plan(config.load(sys.argv[1])).kernel
theta = np.empty(len(PARAMETER_NAMES))
out = {}
for draw in range(30):
    kernels.draw_parameters(theta, rng.new_state(), kp, draw)
    for name, x in zip(PARAMETER_NAMES, theta):
        out.setdefault(name, []).append(float(x).hex())
print(json.dumps(out))
"""


def package_draws(package_root: Path, study: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(package_root), NUMBA_CACHE_DIR=str(package_root / "numba-cache"))
    out = subprocess.run([sys.executable, "-c", DRAWS_SCRIPT, str(study)], env=env, capture_output=True,
                         text=True, check=True, cwd=package_root)
    return json.loads(out.stdout)


def test_a_new_leverage_level_changes_no_other_draws(tmp_path):
    """Add a leverage level ("blockade", with its two per-level parameters
    and their priors) to a copy of the package, as README's layout table
    says to: every parameter the shipped package has keeps its draws."""
    import deterrence
    shipped = Path(deterrence.__file__).parent
    study = write_study(tmp_path / "tiny.toml", "tiny")
    copy = tmp_path / "grown"
    shutil.copytree(shipped, copy / "deterrence", ignore=shutil.ignore_patterns("__pycache__"))
    if (shipped.parent / "seeds").is_dir():   # a source checkout keeps the record beside the package
        shutil.copytree(shipped.parent / "seeds", copy / "seeds")
    source = copy / "deterrence" / "model.py"
    text = source.read_text()
    old_levels = 'LEVERAGES = ("status_quo", "sanctions", "assets_and_aid")'
    assert old_levels in text
    text = text.replace(old_levels, 'LEVERAGES = ("status_quo", "sanctions", "blockade", "assets_and_aid")')
    free = model.NEXT_STREAM
    text = text.replace("STREAMS = {", f'STREAMS = {{"leverage_mult.blockade": {free}, '
                                       f'"veto_relief.blockade": {free + 1},', 1)
    text = text.replace(f"NEXT_STREAM = {free}", f"NEXT_STREAM = {free + 2}")
    source.write_text(text)
    priors = copy / "deterrence" / "priors.toml"
    priors.write_text(priors.read_text() + """
[priors.leverage_mult.blockade]
dist = "lognormal"
median = 1.2
sigma = 0.3
source = "test"

[priors.veto_relief.blockade]
dist = "beta"
a = 1.0
b = 3.0
source = "test"
""")
    before = package_draws(shipped.parent, study)
    after = package_draws(copy, study)
    assert set(after) - set(before) == {"leverage_mult.blockade", "veto_relief.blockade"}
    assert {name: after[name] for name in before} == before
    # Two new draws of their own streams, not copies of another parameter's.
    assert after["leverage_mult.blockade"] not in before.values()


def test_stream_table_ends_in_an_error():
    from deterrence.model import STREAMS, parameter_streams
    with pytest.raises(ValueError, match="no stream id for leverage_mult.blockade"):
        parameter_streams(("lambda_c0", "leverage_mult.blockade"))
    with pytest.raises(ValueError, match="distinct"):
        parameter_streams(("lambda_c0", "nu"), {**STREAMS, "nu": STREAMS["lambda_c0"]})


def test_run_level_streams_are_distinct_and_above_the_parameters():
    """The run-level streams (model.STREAM_*; the frailties of truces of
    random strength on STREAM_STRENGTH) share no id with each other or with
    a parameter's stream."""
    ids = [v for k, v in vars(model).items() if k.startswith("STREAM_") and isinstance(v, int)]
    assert len(set(ids)) == len(ids) and min(ids) == model.STREAM_RUN
    assert max(model.STREAMS.values()) < model.NEXT_STREAM <= model.STREAM_RUN
    assert model.STREAMS["strength_var"] == 44 and model.STREAM_STRENGTH == 107
