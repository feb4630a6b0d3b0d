"""What the plots share: colours, colour maps, and figures as PNG bytes."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

LOSS_TERMS = ("total", "content", "style", "tv")


LOSS_COLORS = {"total": "black", "content": "tab:blue", "style": "tab:red", "tv": "tab:green"}


DEFAULT_CHANNEL_COUNT = 16


ACTIVATION_COLORMAP = "viridis"


GRAM_COLORMAP = "magma"


DIFFERENCE_COLORMAP = "RdBu_r"


SATURATION_PERCENTILE = 99.5


def figure_to_png(figure: Figure, dpi: float | None = None) -> bytes:
    """Renders a figure to PNG file bytes (for `ipywidgets.Image` or a file).

    Args:
        figure: A `matplotlib.figure.Figure` (pyplot is not needed).
        dpi: Resolution; the figure's own when `None`.

    Returns:
        The PNG file's bytes.

    Raises:
        TypeError: If `figure` is not a matplotlib Figure.
    """
    if not isinstance(figure, Figure):
        raise TypeError(f"figure_to_png expects a matplotlib Figure, got "
                        f"{type(figure).__name__}.")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi if dpi is not None else figure.dpi)
    return buffer.getvalue()
