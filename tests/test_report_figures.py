"""deterrence.report.figures: each figure is written, and its caption reads
its numbers from the result, whichever way they point."""

import numpy as np
import pytest
from helpers import with_sensitivity

from deterrence.report import figures
from deterrence.report.tables import table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REST = {"posture": "rear", "deploy_rule": "after_ceasefire", "leverage": "status_quo"}



def _draw(draw, ds, tmp_path):
    path, text = draw(ds, tmp_path / "figure.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    return text


def test_heatmap_reads_what_support_does_without_a_force(small, tmp_path):
    ds = small.copy(deep=True)
    where = dict(force_size=0, support="air_defense", years=2, **REST)
    ds["diff_p_reattack"].loc[where] = 0.05
    ds["diff_p_reattack_se"].loc[where] = 0.01
    text = _draw(figures.draw_heatmap, ds, tmp_path)
    strikes = float(ds.mean_strikes.sel(force_size=0, support="air_defense", **REST))
    assert f"US air defence +5.0 ± 2.0 points and {strikes:,.0f} strikes" in text
    assert "does not change" not in text


@pytest.mark.parametrize("shift", [-0.1, 0.1])
def test_deployment_reads_the_ceasefire_change_either_way(small, tmp_path, shift):
    ds = small.copy(deep=True)
    no_force = ds.p_ceasefire.sel(force_size=0, years=2)
    ds["p_ceasefire"].loc[dict(force_size=5000, years=2)] = (no_force + shift).values
    text = _draw(figures.draw_deployment, ds, tmp_path)
    assert (f"changes the chance of a ceasefire within 2 year(s) by {100 * shift:+.1f} points under "
            f"status-quo leverage and {100 * shift:+.1f} points under seized assets + aid") in text
    assert "veto" not in text


def test_tradeoff_and_incidence_captions(small, tmp_path):
    text = _draw(figures.draw_tradeoff, small, tmp_path)
    y = small.sel(years=2)   # five years lie beyond this 1000-day horizon
    best = float((-y.diff_p_reattack).max())
    assert f"The largest cut, {100 * best:.1f} ± " in text and "because" not in text
    text = _draw(figures.draw_incidence, small, tmp_path)
    low, high = float(y.p_ceasefire.min()), float(y.p_ceasefire.max())
    # The drawn options include the smallest and the largest force, hence both extremes here.
    assert f"a ceasefire comes within 2 year(s) in {100 * low:.1f}% to {100 * high:.1f}%" in text
    assert "veto" not in text and table(small)


def test_sensitivity_sums_the_indices(small, tmp_path):
    ds = with_sensitivity(small)
    for scale in (1.0, 2.0):   # estimated indices can sum above one: then no share is left over
        ds["sensitivity"] = scale * with_sensitivity(small).sensitivity
        text = _draw(figures.draw_sensitivity, ds, tmp_path)
        s = ds.sensitivity.sel(force_size=5000, support="none", outcome="reattack_2y", **REST)
        total = float(np.nansum(s.values))
        said = f"The indices of P(re-attack within 2 years) sum to {total:.2f}"
        assert said + (f": the other {1 - total:.2f} of its variance" if total < 1 else ".") in text
    path, text = figures.draw_sensitivity(small, tmp_path / "none.png")
    assert path is None and "not drawn" in text and not (tmp_path / "none.png").exists()
