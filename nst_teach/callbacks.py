"""Callbacks: code that runs during `stylize` (progress bars, previews, widgets).

A callback is either a plain function `callback(run)`, called after every step,
or a `Callback` object whose `on_start`, `on_step` (every `every` steps) and
`on_end` methods are called. `run` is the live `Run`: the step, the history of
losses, the current and best images, and `request_stop()`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

import numpy as np


@dataclasses.dataclass
class Run:
    """The live state of one optimization, as callbacks see it.

    Attributes:
        num_steps: Steps asked for.
        step: Steps done so far (0 before the first).
        history: One dict of losses per step (see `stylize`).
        device: Where TensorFlow runs, e.g. `"CPU"` or `"GPU:0"`.
        settings: The options `stylize` resolved (weights, layers, optimizer...).
        stop_event: Set it (or call `request_stop`) to end the loop after the
            current step; the best image so far is kept.
        started: `time.perf_counter()` when the loop started.
    """

    num_steps: int
    device: str
    settings: dict
    get_image: Callable[[], np.ndarray]
    get_best_image: Callable[[], np.ndarray]
    step: int = 0
    history: list = dataclasses.field(default_factory=list)
    stop_event: threading.Event = dataclasses.field(default_factory=threading.Event)
    started: float = dataclasses.field(default_factory=time.perf_counter)
    status: str = "running"
    message: str = ""

    @property
    def latest(self) -> dict:
        """The last history entry (losses of the current image)."""
        return self.history[-1] if self.history else {}

    @property
    def elapsed(self) -> float:
        """Seconds since the loop started."""
        return time.perf_counter() - self.started

    def image(self) -> np.ndarray:
        """The current image, float32 `(1, H, W, 3)` in [0, 1] (a copy)."""
        return self.get_image()

    def best_image(self) -> np.ndarray:
        """The image with the lowest total loss so far (a copy)."""
        return self.get_best_image()

    def request_stop(self) -> None:
        """Asks the loop to stop after the current step."""
        self.stop_event.set()


class Callback:
    """Base class for callbacks that need more than a function.

    Args:
        every: Call `on_step` every this many steps (and at the last step).
    """

    def __init__(self, every: int = 1):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}.")
        self.every = every

    def on_start(self, run: Run) -> None:
        """Called once before the first step."""

    def on_step(self, run: Run) -> None:
        """Called after a step (every `every` steps)."""

    def on_end(self, run: Run) -> None:
        """Called once when the loop ends, however it ends."""


class FunctionCallback(Callback):
    """Wraps a plain function `function(run)` as a callback."""

    def __init__(self, function: Callable[[Run], Any], every: int = 1):
        super().__init__(every)
        self.function = function

    def on_step(self, run: Run) -> None:
        self.function(run)


class ProgressBar(Callback):
    """A tqdm progress bar with the live loss (works in notebooks too).

    Args:
        every: Update every this many steps.
        description: The bar's label.
        terms: The loss terms shown beside it.
    """

    def __init__(self, every: int = 1, description: str = "stylize",
                 terms: tuple[str, ...] = ("total",)):
        super().__init__(every)
        self.description, self.terms = description, terms
        self.bar = None

    def on_start(self, run: Run) -> None:
        from tqdm.auto import tqdm

        # No step count (a time budget only): a bar that counts without a total.
        self.bar = tqdm(total=run.num_steps or None, initial=run.settings.get("start_step", 0),
                        desc=self.description, unit="step", leave=True)

    def on_step(self, run: Run) -> None:
        self.bar.update(run.step - self.bar.n)
        names = {"total": "loss"}
        self.bar.set_postfix({names.get(term, term): f"{run.latest[term]:.4g}"
                              for term in self.terms}, refresh=False)

    def on_end(self, run: Run) -> None:
        if self.bar is not None:
            self.bar.close()


class PrintLosses(Callback):
    """Prints the loss terms every `every` steps (for logs and scripts)."""

    def __init__(self, every: int = 50):
        super().__init__(every)

    def on_step(self, run: Run) -> None:
        record = run.latest
        print(f"step {record['step']:5d}  {record['time']:7.1f} s  total {record['total']:.4g}  "
              f"content {record['content']:.4g}  style {record['style']:.4g}  tv {record['tv']:.4g}")


class Filmstrip(Callback):
    """Keeps the image every `every` steps, to show how a run paints (lesson 07).

    Args:
        every: Keep the image every this many steps (and the first and last).

    Attributes:
        steps: The step of each kept image.
        images: float32 `(1, H, W, 3)` in [0, 1], one per step in `steps`.
    """

    def __init__(self, every: int = 10):
        super().__init__(every)
        self.steps, self.images = [], []

    def on_start(self, run: Run) -> None:
        self.steps, self.images = [run.step], [run.image()]

    def on_step(self, run: Run) -> None:
        if run.step != self.steps[-1]:
            self.steps.append(run.step)
            self.images.append(run.image())

    def show(self, count: int | None = None, size: float = 2.0):
        """Shows `count` of the kept images (evenly spread, the last included), titled by step."""
        from nst_teach.images import show_images

        chosen = range(len(self.images))
        if count is not None and count < len(self.images):
            chosen = sorted({round(index * (len(self.images) - 1) / max(count - 1, 1))
                             for index in range(count)})
        return show_images([self.images[index] for index in chosen],
                           [f"step {self.steps[index]}" for index in chosen], size=size)


def as_callbacks(callbacks) -> list[Callback]:
    """Accepts a callback, a function, or a list of them; returns Callback objects."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    result = []
    for callback in callbacks:
        if isinstance(callback, Callback):
            result.append(callback)
        elif callable(callback):
            result.append(FunctionCallback(callback))
        else:
            raise ValueError(f"A callback must be a function or a Callback, got {callback!r}.")
    return result
