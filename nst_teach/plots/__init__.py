"""Pictures of what the network sees: activations, Gram matrices, loss curves.

Every function here is pure: it takes NumPy arrays (or tensors, or a loss
history) and returns a `matplotlib.figure.Figure` built with the
object-oriented API, never through pyplot, so nothing needs closing and the
same figure works in a notebook, in print (`figure.savefig`) and inside a
widget (`figure_to_png`). The widgets in `nst_teach.widgets` draw nothing
themselves: they call these functions.

Modules: `activations`, `gram`, `losses`, and `common` (colours, `figure_to_png`).
"""

from nst_teach.plots.activations import (
    RANKINGS,
    most_active_channels,
    plot_activations,
    plot_receptive_field,
    plot_channel_comparison,
    rank_channels,
)
from nst_teach.plots.common import (
    ACTIVATION_COLORMAP,
    DEFAULT_CHANNEL_COUNT,
    DIFFERENCE_COLORMAP,
    GRAM_COLORMAP,
    LOSS_COLORS,
    LOSS_TERMS,
    SATURATION_PERCENTILE,
    figure_to_png,
)
from nst_teach.plots.gram import (
    gram_channel_order,
    plot_gram,
    plot_gram_comparison,
)
from nst_teach.plots.losses import (
    X_AXES,
    plot_loss_comparison,
    plot_losses,
    plot_style_shares,
)

__all__ = [
    "ACTIVATION_COLORMAP", "DEFAULT_CHANNEL_COUNT", "DIFFERENCE_COLORMAP", "GRAM_COLORMAP",
    "LOSS_COLORS", "LOSS_TERMS", "RANKINGS", "SATURATION_PERCENTILE", "X_AXES", "figure_to_png",
    "gram_channel_order", "most_active_channels", "plot_activations", "plot_receptive_field",
    "plot_channel_comparison", "plot_gram", "plot_gram_comparison", "plot_loss_comparison",
    "plot_losses", "plot_style_shares", "rank_channels",
]
