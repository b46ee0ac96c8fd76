"""deterrence.report.html and .export: the self-contained page and the CSV
files, read from the result and the outcome declarations; and the page in
a real headless browser (Chromium), from a file:// URL."""

import csv
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from deterrence.cli import main
from deterrence.model import AXES
from deterrence.outcomes import COUNT, OUTCOMES, Outcome
from deterrence.report import html
from deterrence.report.export import write_tables
from deterrence.report.grid import NOT_NESTED, options

OPTION = dict(force_size=5000, posture="rear", deploy_rule="immediate", support="air_defense",
              leverage="assets_and_aid")


def _data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_every_declared_reading_the_result_holds_is_on_the_page(nested):
    data = _data(html.page(nested))
    shown = {r["var"] for r in data["readings"]}
    for o in OUTCOMES:
        for var in o.variables():
            if (var in nested.data_vars and f"{var}_se" in nested.data_vars and not var.endswith("_q")
                    and not var.startswith("p_better")):    # p_better is shown with the effect it is read on
                assert var in shown, var
    k = options(nested).index(OPTION)
    r = next(r for r in data["readings"] if r["var"] == "p_reattack")
    j = [int(y) for y in nested["years"].values].index(2)
    o = nested.sel(years=2, **OPTION)
    assert r["value"][j][k] == pytest.approx(float(o.p_reattack), rel=1e-4)
    assert r["se"][j][k] == pytest.approx(float(o.p_reattack_se), rel=1e-4)
    assert r["low"][j][k] == pytest.approx(float(o.p_reattack_q.sel(quantile=0.05)), rel=1e-4)
    assert data["effects"]["p_better"][k] == pytest.approx(float(nested.sel(**OPTION).p_better))
    assert data["meta"]["priors"]["lambda_c0"]["source"]
    assert data["meta"]["attrs"]["seed"] == str(nested.attrs["seed"])
    assert data["meta"]["model"] and "[study]" in data["meta"]["config"]


def test_a_new_outcome_appears_without_editing_the_page(nested, monkeypatch):
    """An outcome declared in the table, with its variables in the result, is a reading on the page."""
    new = Outcome("days_at_war", COUNT, "days", "days at war over the horizon", "days at war", "days_at_war")
    monkeypatch.setattr(html, "OUTCOMES", (*OUTCOMES, new))
    ds = nested.assign(mean_days_at_war=nested["mean_strikes"] * 0 + 400.0,
                       mean_days_at_war_se=nested["mean_strikes"] * 0 + 3.0)
    found = {r["var"]: r for r in html.readings(ds)}
    assert found["mean_days_at_war"]["heading"] == "mean days at war per run over the horizon"
    assert not found["mean_days_at_war"]["percent"] and found["mean_days_at_war"]["value"][0][0] == 400.0


def test_the_page_is_self_contained(small, tmp_path):
    """Nothing fetched: no script, style or image from elsewhere; plotly.js inlined."""
    path = html.write_html(small, tmp_path / "small.html")
    page = path.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert "cdn.plot.ly" not in page.split('<script type="application/json"')[1]
    assert "Plotly" in page and path.stat().st_size < 10e6
    data = _data(page)
    # One run per draw: no intervals, and the page says why.
    assert not data["nested"] and data["not_nested"] == NOT_NESTED
    assert all(r["low"] is None for r in data["readings"]) and data["effects"] is None


def test_full_grid_page_is_under_10_mb(nested):
    """240 options (the full default grid's size): the inlined numbers stay small beside plotly.js."""
    grid = {"force_size": [0, 5000, 10000, 25000, 50000], "posture": ["rear", "contact_line"],
            "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "isr_c2", "air_defense",
                                                                     "air_support"],
            "leverage": ["status_quo", "sanctions", "assets_and_aid"]}
    big = nested.isel({a: np.arange(len(v)) % nested.sizes[a] for a in AXES for v in [grid[a]]})
    big = big.assign_coords(grid)
    assert len(options(big)) == 240
    assert len(html.page(big).encode()) < 10e6


def test_csv_files_hold_every_reading(nested, tmp_path):
    written = write_tables(nested, tmp_path / "csv")
    names = {p.name for p in written}
    assert {"options.csv", "readings.csv", "effects.csv", "tradeoff.csv", "reattack_heatmap.csv",
            "deployment_vs_leverage.csv"} <= names
    with open(tmp_path / "csv" / "readings.csv") as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if r["variable"] == "diff_p_reattack" and r["years"] == "2"
               and all(r[a] == str(v) for a, v in OPTION.items()))
    o = nested.sel(years=2, **OPTION)
    assert float(row["estimate"]) == pytest.approx(float(o.diff_p_reattack), rel=1e-4, abs=1e-9)
    assert float(row["q95"]) == pytest.approx(float(o.diff_p_reattack_q.sel(quantile=0.95)), rel=1e-4, abs=1e-9)
    assert float(row["mc_se"]) == pytest.approx(float(o.diff_p_reattack_se), rel=1e-4)


def test_report_html_and_csv_from_the_command_line(small, tmp_path, capsys):
    result = tmp_path / "small.nc"
    small.to_netcdf(result, engine="h5netcdf")
    assert main(["report", str(result), "--html", "--csv", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "small.html").is_file() and (tmp_path / "csv" / "readings.csv").is_file()
    assert not (tmp_path / "csv" / "effects.csv").exists()     # one run per draw: no effects table
    capsys.readouterr()
    for bad in (["--html", str(tmp_path / "nowhere" / "x.html")], ["--html", str(tmp_path / "x.txt")],
                ["--csv", str(tmp_path / "small.html")]):
        assert main(["report", str(result), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("deterrence: error: report --") and "\n" not in err


# ------------------------------------------------------------------ in a real browser

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,1000")


def browser():
    """Headless Chromium through selenium and Debian's chromedriver; skip
    where none is installed, fail in CI (CI=true), where it must run."""
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium and chromedriver: .ci/run installs them")
        pytest.skip("no chromium and chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    given = webdriver.ChromeOptions()
    given.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        given.add_argument(flag)
    given.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=given, service=Service(DRIVER))


def shown(text: str) -> list[float]:
    """The numbers in a cell: `-3.9 pp`, `[1.9, 23.9]`, `±0.94`, `1,863`."""
    return [float(x.replace(",", "")) for x in re.findall(r"[-+]?\d[\d,]*\.?\d*", text.replace("−", "-"))]


def pick(driver, which: str, option: dict, ds) -> None:
    from selenium.webdriver.support.ui import Select

    for a in AXES:
        if ds.sizes[a] > 1:
            Select(driver.find_element("id", f"pick-{which}-{a}")).select_by_index(
                [v.item() if hasattr(v, "item") else v for v in ds[a].values].index(option[a]))


def errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_page_in_a_browser_shows_the_results_numbers(nested, tmp_path):
    page = html.write_html(nested, tmp_path / "nested.html")
    driver = browser()
    try:
        driver.get(page.resolve().as_uri())
        assert driver.find_element("id", "a-p_reattack-2-v").text
        assert errors(driver) == []
        pick(driver, "a", OPTION, nested)
        o = nested.sel(years=2, **OPTION)
        for var, scale, digits in (("p_reattack", 100, 1), ("diff_p_reattack", 100, 1), ("p_tripwire", 100, 1)):
            value, = shown(driver.find_element("id", f"a-{var}-2-v").text)
            low, high = shown(driver.find_element("id", f"a-{var}-2-i").text)
            se, = shown(driver.find_element("id", f"a-{var}-2-s").text)
            tol = 0.51 * 10 ** -digits
            assert value == pytest.approx(scale * float(o[var]), abs=tol), var
            assert low == pytest.approx(scale * float(o[f"{var}_q"].sel(quantile=0.05)), abs=tol), var
            assert high == pytest.approx(scale * float(o[f"{var}_q"].sel(quantile=0.95)), abs=tol), var
            assert se == pytest.approx(scale * float(o[f"{var}_se"]), abs=0.006), var
        strikes, _ = shown(driver.find_element("id", "a-mean_strikes-all-v").text), None
        assert strikes[0] == pytest.approx(float(o.mean_strikes), abs=0.51)
        effect = driver.find_element("id", "a-effect").text
        assert effect.startswith("Δ mean days at war per run over the horizon vs baseline")
        assert f"{100 * float(nested.sel(**OPTION).p_better):.0f}% of the parameter draws" in effect
        # Two options side by side: B against A, with the difference and what the result cannot give.
        other = {**OPTION, "support": "none"}
        pick(driver, "b", other, nested)
        b = nested.sel(years=2, **other)
        a_cell = shown(driver.find_element("id", "pair-p_reattack-a").text)
        b_cell = shown(driver.find_element("id", "pair-p_reattack-b").text)
        amb, = shown(driver.find_element("id", "pair-p_reattack-amb").text)
        assert a_cell[0] == pytest.approx(100 * float(o.p_reattack), abs=0.051)
        assert b_cell[0] == pytest.approx(100 * float(b.p_reattack), abs=0.051)
        assert amb == pytest.approx(100 * float(o.p_reattack - b.p_reattack), abs=0.051)
        assert "deterrence compare" in driver.find_element("id", "pair-note").text
        # A click on an option in a chart selects it (as A, the radio button's default).
        from selenium.webdriver.common.action_chains import ActionChains

        clicked = {**OPTION, "leverage": "status_quo"}
        point = driver.find_elements("css selector", "#chart-all .scatterlayer .point")[
            options(nested).index(clicked)]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
        ActionChains(driver).move_to_element(point).click().perform()
        assert driver.find_element("id", "a-title").text.startswith(f"Option A: {html.plain_option(clicked, nested)}:")
        value, = shown(driver.find_element("id", "a-p_reattack-2-v").text)
        assert value == pytest.approx(100 * float(nested.sel(years=2, **clicked).p_reattack), abs=0.051)
        assert errors(driver) == []
        driver.save_screenshot(str(tmp_path / "page.png"))
        assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        driver.quit()


def test_page_in_a_browser_without_intervals(small, tmp_path):
    page = html.write_html(small, tmp_path / "small.html")
    driver = browser()
    try:
        driver.get(page.resolve().as_uri())
        assert "runs_per_draw > 1" in driver.find_element("id", "banner").text
        assert driver.find_element("id", "a-p_reattack-2-i").text == "n/a"
        assert errors(driver) == []
    finally:
        driver.quit()


def screenshot(result: Path, png: Path) -> Path:
    """The README's picture of the page (`python tests/test_report_html.py RESULT PNG`)."""
    import xarray as xr

    with xr.open_dataset(result) as ds:
        page = html.write_html(ds, Path(tempfile.mkdtemp()) / "page.html")
    driver = browser()
    try:
        driver.set_window_size(1300, 1000)
        driver.get(page.as_uri())
        driver.save_screenshot(str(png))
    finally:
        driver.quit()
    return png


if __name__ == "__main__":
    import sys

    print(screenshot(Path(sys.argv[1]), Path(sys.argv[2])))
