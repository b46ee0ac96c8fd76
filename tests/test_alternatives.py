"""deterrence.methods.alternatives: the headline cells of one result, each
with its parameter interval where the result has one; the noise column
is the largest Monte Carlo SE among them."""

from deterrence.methods import alternatives


def test_cells_give_intervals_and_the_largest_noise(nested, small):
    found = alternatives.cells(nested)
    assert len(found) == len(alternatives.COLUMNS) + 1
    noise = 0.0
    for (_, option, name, years), cell in zip(alternatives.COLUMNS, found, strict=False):
        if years is None:                # days at war: a mean over the horizon, in days
            o = nested.sel(option)
            low, high = (float(o[f"{name}_q"].sel(quantile=q)) for q in (0.05, 0.95))
            assert cell == f"{float(o[name]):+.0f} [{low:+.0f}, {high:+.0f}]"
            continue
        o = nested.sel(option).sel(years=years)
        if years * 365.25 > nested.attrs["horizon_days"]:
            continue                     # beyond this small study's horizon: undefined
        noise = max(noise, float(o[f"{name}_se"]))
        value = f"{100 * float(o[name]):{'+' if name.startswith('diff') else ''}.1f}"
        if f"{name}_q" in nested:
            low, high = (100 * float(o[f"{name}_q"].sel(quantile=q)) for q in (0.05, 0.95))
            assert cell == f"{value} [{low:.1f}, {high:.1f}]"
        else:
            assert cell == value
    assert found[-1] == f"{100 * noise:.2f}"
    assert not any("[" in cell for cell in alternatives.cells(small))    # no intervals to give


def test_module_shows_its_progress(tmp_path, capsys):
    from helpers import DATA

    assert alternatives.main([str(DATA / "small.toml"), "--runs", "1000"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n| ") == len(alternatives.ALTERNATIVES) + 1
    steps = [line for line in err.splitlines() if line.startswith("alternative ")]
    assert [s.split(":")[0] for s in steps] == [f"alternative {k} of {len(alternatives.ALTERNATIVES)}"
                                                for k in range(1, len(alternatives.ALTERNATIVES) + 1)]
    assert alternatives.main([str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.startswith("deterrence: error:")
