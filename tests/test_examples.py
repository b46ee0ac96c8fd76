"""examples/: the notebook a newcomer runs top to bottom, executed (nbclient)
on a tiny study with parameter intervals."""

import os
from pathlib import Path

import pytest
from helpers import study_text

ROOT = Path(__file__).parent.parent
NOTEBOOK = ROOT / "examples" / "first-study.ipynb"


@pytest.mark.slow
def test_first_study_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    config = tmp_path / "tiny.toml"
    # tests/data/tiny.toml with 10 runs per draw: 200 draws (epistemic.MIN_DRAWS), so the effect has its interval.
    config.write_text(study_text("tiny").replace("block_runs = 500", "block_runs = 500\nruns_per_draw = 10"))
    out = tmp_path / "first-study.nc"
    for name, value in (("CONFIG", config), ("RUNS", 2000), ("OUT", out)):
        monkeypatch.setenv(f"DETERRENCE_NOTEBOOK_{name}", str(value))
    monkeypatch.setenv("NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", "2"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "\n".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "tiny: 2 options" in text and "10 runs per parameter draw" in text
    assert "P(re-attack within 2 years) = " in text and "p_better" in text
    assert any("image/png" in o.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for o in cell.outputs)
    assert out.is_file() and out.with_suffix(".html").is_file()
    # Executed outputs are not kept in the repository's notebook.
    assert not any(c.get("outputs") for c in nbformat.read(NOTEBOOK, as_version=4).cells)
