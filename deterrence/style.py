"""The one matplotlib style of every figure: sizes, resolution, grid.

Figures use the object API (`matplotlib.figure.Figure` on an Agg canvas),
never pyplot: nothing depends on a display, on a global backend or on
figures left open in a global registry. matplotlib is imported when the
first figure is drawn, so that the terminal table costs no matplotlib import."""

import os
from pathlib import Path

FIGSIZE = (8, 5)
WIDE = (11, 4.5)
DPI = 110
GRID_ALPHA = 0.3
LEGEND_SIZE = 8
TITLE_SIZE = 10


def figure(size: tuple[float, float] = FIGSIZE):
    """An empty `matplotlib.figure.Figure` of ``size`` inches, drawn on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save(fig, path: Path) -> Path:
    """Lay the figure out and write it at `DPI`, in the format of its suffix
    (PNG, PDF, SVG), under a temporary name renamed when complete."""
    path = Path(path)
    fig.tight_layout()
    partial = path.with_name(f".{path.name}.partial")
    try:
        fig.savefig(partial, dpi=DPI, format=path.suffix.lstrip(".").lower() or "png")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
