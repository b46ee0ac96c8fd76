"""deterrence.style: one figure size and resolution, the object API
on an Agg canvas, and no pyplot anywhere in the report package."""

import struct
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deterrence import style

ROOT = Path(__file__).parent.parent


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])   # the IHDR chunk
    return width, height


def test_figure_and_save(tmp_path):
    for size in (style.FIGSIZE, style.WIDE):
        fig = style.figure(size)
        assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
        fig.add_subplot().plot([0, 1], [0, 1])
        path = style.save(fig, tmp_path / "f.png")
        assert _png_size(path) == (round(size[0] * style.DPI), round(size[1] * style.DPI))


def test_no_pyplot_in_the_package():
    sources = (ROOT / "deterrence" / "report").glob("*.py")
    assert not [p.name for p in sources if "pyplot" in p.read_text().replace("never pyplot", "")]
