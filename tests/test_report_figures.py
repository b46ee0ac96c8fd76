"""deterrence.report.figures: each figure is written, and its caption reads
its numbers from the result, whichever way they point."""

import numpy as np
import pytest
from helpers import with_sensitivity

from deterrence.report import figures
from deterrence.report.grid import NOT_NESTED, plain_option
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
    assert f"US air defence +5.0 points (simulation noise ±1.00) and {strikes:,.0f} strikes" in text
    assert "does not change" not in text and NOT_NESTED in text


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
    assert f"The largest cut, {100 * best:.1f} points (simulation noise ±" in text and "because" not in text
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


# Every figure that draws an estimate, and the `_q` variables its bars read.
INTERVAL_FIGURES = {figures.draw_effects: ("diff_mean_war_days",), figures.draw_incidence: ("p_reattack",),
                    figures.draw_heatmap: ("p_reattack", "diff_p_reattack"),
                    figures.draw_deployment: ("p_deployed", "p_ceasefire"),
                    figures.draw_tradeoff: ("p_tripwire", "diff_p_reattack")}


def _scaled(ds, suffix: str, names, factor: float):
    """``ds`` with the variables NAME + suffix multiplied by ``factor``."""
    out = ds.copy(deep=True)
    for name in names:
        out[name + suffix] = out[name + suffix] * factor
    return out


@pytest.mark.parametrize("draw", INTERVAL_FIGURES, ids=lambda d: d.__name__)
def test_figures_draw_parameter_intervals_never_noise(nested, tmp_path, draw):
    """The bars are the 90% parameter intervals: narrowing them changes the
    picture; the Monte Carlo SEs are not drawn: scaling every one of them
    leaves the picture as it was. The caption says what the bars are."""
    text = _draw(draw, nested, tmp_path)
    picture = (tmp_path / "figure.png").read_bytes()
    assert "90% parameter interval" in text and "±2" not in text
    every_se = [v.removesuffix("_se") for v in nested.data_vars if v.endswith("_se")]
    _draw(draw, _scaled(nested, "_se", every_se, 10.0), tmp_path)
    assert (tmp_path / "figure.png").read_bytes() == picture
    _draw(draw, _scaled(nested, "_q", INTERVAL_FIGURES[draw], 0.5), tmp_path)
    assert (tmp_path / "figure.png").read_bytes() != picture


@pytest.mark.parametrize("draw", INTERVAL_FIGURES, ids=lambda d: d.__name__)
def test_figures_without_intervals_say_why(small, tmp_path, draw):
    path, text = draw(small, tmp_path / "figure.png")
    assert NOT_NESTED in text
    if draw is figures.draw_effects:
        assert path is None and "not drawn" in text and not (tmp_path / "figure.png").exists()
        return
    picture = path.read_bytes()
    every_se = [v.removesuffix("_se") for v in small.data_vars if v.endswith("_se")]
    _draw(draw, _scaled(small, "_se", every_se, 10.0), tmp_path)
    assert (tmp_path / "figure.png").read_bytes() == picture       # no noise bars either


def test_effects_caption_counts_the_options_drawn(nested, tmp_path):
    text = _draw(figures.draw_effects, nested, tmp_path)
    # Drawn: each support level at status-quo leverage, each leverage level without US support.
    drawn = [dict(force_size=5000, posture="rear", deploy_rule=rule, support=support, leverage=leverage)
             for rule in ("after_ceasefire", "immediate")
             for support, leverage in (("none", "status_quo"), ("air_defense", "status_quo"),
                                       ("none", "assets_and_aid"))]
    better = [float(nested.p_better.sel(o)) for o in drawn]
    q = [nested.diff_mean_war_days_q.sel(**o).sel(quantile=[0.05, 0.95]).values for o in drawn]
    assert (f"Of the 6 options with a force drawn, {sum(b >= 0.95 for b in better)} are better on this measure "
            f"under at least 95% of the parameter draws (p_better), and {sum(hi < 0 for _, hi in q)} have a "
            f"90% interval wholly below zero.") in text
    k = int(np.argmax([hi - lo for lo, hi in q]))
    assert (f"The widest interval, [{q[k][0]:+.1f}, {q[k][1]:+.1f}] days, is that of "
            f"{plain_option(drawn[k], all_axes=True)}.") in text


def test_sensitivity_caption_of_expected_outcomes(nested, small, tmp_path):
    """With the nested design, the indices are of E[Y | parameters]: what
    is left over is interactions, not chance within a run."""
    text = _draw(figures.draw_sensitivity, with_sensitivity(nested), tmp_path)
    assert "expected value given the parameters" in text and "chance within a run" not in text
    text = _draw(figures.draw_sensitivity, with_sensitivity(small), tmp_path)
    assert "run-to-run variance" in text and "chance within a run" in text
