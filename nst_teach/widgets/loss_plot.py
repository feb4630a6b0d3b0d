"""`LossPlot`: a `stylize` callback that redraws the loss curves while it runs."""

from __future__ import annotations

import time

import ipywidgets as widgets

from nst_teach import plots
from nst_teach.callbacks import Callback, Run
from nst_teach.widgets.common import _Displayable, _show_png, picture_layout


class LossPlot(_Displayable, Callback):
    """A `stylize` callback that redraws the loss curves, throttled by time.

    Redraws at most every `every_seconds`, and never so often that drawing
    takes more than `max_overhead` of the run's time (a redraw costs about
    0.1 s on a laptop CPU). The last step is always drawn.

    Example:
        >>> loss_plot = LossPlot()
        >>> display(loss_plot.widget)
        >>> result = nst.stylize(content, style, callbacks=[loss_plot])

    Its controls: the x axis (`x_axis`: step or seconds), a log or linear
    loss axis (`log_scale`), which terms to draw (`term_boxes`) and the panel
    of per-layer style terms (`per_layer_box`); each change redraws.

    Args:
        every_seconds: Shortest time between two redraws.
        log_scale: Start with a logarithmic loss axis.
        per_layer: Start with each style layer's term drawn too.
        max_overhead: Largest fraction of the time spent drawing.
        x_axis: Start with `"step"` or `"time"` on the x axis.
    """

    def __init__(self, every_seconds: float = 0.5, log_scale: bool = True,
                 per_layer: bool = True, max_overhead: float = 0.05, x_axis: str = "step"):
        super().__init__(every=1)
        if every_seconds < 0:
            raise ValueError(f"every_seconds must be >= 0, got {every_seconds}.")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], got {max_overhead}.")
        if x_axis not in plots.X_AXES:
            raise ValueError(f"x_axis must be 'step' or 'time', got {x_axis!r}.")
        self.every_seconds, self.max_overhead = every_seconds, max_overhead
        self.image = widgets.Image(format="png", layout=picture_layout())  # not stretched
        self.x_axis = widgets.ToggleButtons(options=[("step", "step"), ("seconds", "time")],
                                            value=x_axis, description="x axis")
        self.log_scale = widgets.Checkbox(value=log_scale, description="log scale", indent=False)
        self.term_boxes = {term: widgets.Checkbox(value=True, description=term, indent=False,
                                                  layout=widgets.Layout(width="auto"))
                           for term in plots.LOSS_TERMS}
        self.per_layer_box = widgets.Checkbox(value=per_layer, description="per layer",
                                              indent=False)
        for control in (self.x_axis, self.log_scale, self.per_layer_box,
                        *self.term_boxes.values()):
            control.observe(lambda change: self.update(), names="value")
        self.history: list = []  # the current run's, shared with the Run
        self.earlier: list = []  # earlier runs drawn before it (a Studio's Continue)
        self.draw_count = 0
        self._next_draw = 0.0
        self._widget = widgets.VBox([
            widgets.HBox([self.x_axis, self.log_scale, self.per_layer_box]),
            widgets.HBox(list(self.term_boxes.values())), self.image])

    @property
    def widget(self) -> widgets.Widget:
        """The controls and the plot, to display."""
        return self._widget

    def plot_options(self) -> dict:
        """The keywords of `nst.plots.plot_losses` the controls stand for."""
        return {"log_scale": self.log_scale.value, "per_layer": self.per_layer_box.value,
                "x_axis": self.x_axis.value,
                "terms": [term for term, box in self.term_boxes.items() if box.value]}

    def plotted_history(self) -> list[dict]:
        """`earlier`, then the current run with its steps and seconds shifted to continue them."""
        current = list(self.history)
        if not self.earlier:
            return current
        last = self.earlier[-1]
        return list(self.earlier) + [
            {**record, "step": record["step"] + last["step"],
             **({"time": record["time"] + last["time"]} if "time" in record and "time" in last
                else {})}
            for record in current[1:]]

    def update(self) -> None:
        """Redraws now (and postpones the next throttled redraw accordingly)."""
        started = time.perf_counter()
        figure = plots.plot_losses(self.plotted_history(), **self.plot_options())
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
