"""`LossPlot`: a `stylize` callback that redraws the loss curves while it runs."""

from __future__ import annotations

import time

import ipywidgets as widgets

from nst_teach import plots
from nst_teach.callbacks import Callback, Run
from nst_teach.widgets.common import _Displayable, _show_png


class LossPlot(_Displayable, Callback):
    """A `stylize` callback that redraws the loss curves, throttled by time.

    Redraws at most every `every_seconds`, and never so often that drawing
    takes more than `max_overhead` of the run's time (a redraw costs about
    0.1 s on a laptop CPU). The last step is always drawn.

    Example:
        >>> loss_plot = LossPlot()
        >>> display(loss_plot.widget)
        >>> result = nst.stylize(content, style, callbacks=[loss_plot])

    Args:
        every_seconds: Shortest time between two redraws.
        log_scale: Start with a logarithmic loss axis (a Checkbox changes it).
        per_layer: Also draw each style layer's term.
        max_overhead: Largest fraction of the time spent drawing.
    """

    def __init__(self, every_seconds: float = 0.5, log_scale: bool = True,
                 per_layer: bool = True, max_overhead: float = 0.05):
        super().__init__(every=1)
        if every_seconds < 0:
            raise ValueError(f"every_seconds must be >= 0, got {every_seconds}.")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], got {max_overhead}.")
        self.every_seconds, self.per_layer = every_seconds, per_layer
        self.max_overhead = max_overhead
        self.image = widgets.Image(format="png")
        self.log_scale = widgets.Checkbox(value=log_scale, description="log scale", indent=False)
        self.log_scale.observe(lambda change: self.update(), names="value")
        self.history: list = []  # the current run's, shared with the Run
        self.earlier: list = []  # earlier runs drawn before it (a Studio's Continue)
        self.draw_count = 0
        self._next_draw = 0.0
        self._widget = widgets.VBox([self.log_scale, self.image])

    @property
    def widget(self) -> widgets.Widget:
        """The Checkbox and the plot, to display."""
        return self._widget

    def plotted_history(self) -> list[dict]:
        """`earlier` followed by the current run, its steps shifted to continue them."""
        current = list(self.history)
        if not self.earlier:
            return current
        offset = self.earlier[-1]["step"]
        return list(self.earlier) + [{**record, "step": record["step"] + offset}
                                     for record in current[1:]]

    def update(self) -> None:
        """Redraws now (and postpones the next throttled redraw accordingly)."""
        started = time.perf_counter()
        figure = plots.plot_losses(self.plotted_history(), log_scale=self.log_scale.value,
                                   per_layer=self.per_layer)
        _show_png(self.image, figure)
        self.draw_count += 1
        finished = time.perf_counter()
        pause = max(self.every_seconds, (finished - started) / self.max_overhead)
        self._next_draw = finished + pause

    def on_start(self, run: Run) -> None:
        self.history = run.history
        self._next_draw = 0.0

    def on_step(self, run: Run) -> None:
        if time.perf_counter() >= self._next_draw:
            self.update()

    def on_end(self, run: Run) -> None:
        self.update()
