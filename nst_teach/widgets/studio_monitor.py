"""What the Studio shows while a run goes: preview, progress, status, the filmstrip."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as widgets
import numpy as np

from nst_teach.callbacks import Callback, Run
from nst_teach.images import image_to_jpeg_bytes, resize_to_max_size
from nst_teach.widgets import studio_logic
from nst_teach.widgets.common import THUMBNAIL_WIDTH, picture_layout

FILMSTRIP_FRAMES = 6
FRAME_SIZE = 96  # the longer side of a filmstrip picture, in pixels


class StudioMonitor(Callback):
    """Updates a Studio's preview, progress bar and status (throttled by time), and its
    filmstrip: the image at `FILMSTRIP_FRAMES` evenly spaced steps, 0 and the last included."""

    def __init__(self, studio: Any, every_seconds: float):
        super().__init__(every=1)
        self.studio, self.every_seconds = studio, every_seconds
        self._next_update = 0.0
        self.frame_steps: set[int] = set()

    def on_start(self, run: Run) -> None:
        self.studio.progress.max = max(1, run.num_steps)
        self.studio.progress.value = 0
        self._next_update = 0.0
        self.frame_steps = set(studio_logic.filmstrip_steps(run.num_steps, FILMSTRIP_FRAMES))
        self.studio.filmstrip.children = ()
        self._add_frame(run, 0)

    def on_step(self, run: Run) -> None:
        now = time.perf_counter()
        if now >= self._next_update or run.step == run.num_steps:
            self._next_update = now + self.every_seconds
            self.studio.show_run(run, run.image())
        if run.step in self.frame_steps:
            self._add_frame(run, run.step)

    def on_end(self, run: Run) -> None:
        self.studio.progress.value = min(run.step, self.studio.progress.max)
        if run.step not in self.frame_steps:  # stopped early: the last image closes the strip
            self._add_frame(run, run.step)

    def _add_frame(self, run: Run, step: int) -> None:
        offset = self.studio.step_offset  # steps of earlier runs continued
        frame = picture_with_caption(run.image(), f"step {offset + step}")
        self.studio.filmstrip.children = (*self.studio.filmstrip.children, frame)


def picture_with_caption(image: np.ndarray, caption: str, size: int = FRAME_SIZE,
                         width: str = THUMBNAIL_WIDTH) -> widgets.VBox:
    """A small picture above a one-line caption (HTML), for the filmstrip and compare."""
    picture = widgets.Image(value=image_to_jpeg_bytes(resize_to_max_size(image, size)),
                            format="jpeg", layout=picture_layout(width))
    return widgets.VBox([picture, widgets.HTML(caption)])


def comparison_panel(previous: tuple[np.ndarray, dict], current: tuple[np.ndarray, dict]
                     ) -> list[widgets.Widget]:
    """The last run beside the new one, each with its settings; what differs is in bold."""
    (old_image, old_settings), (new_image, new_settings) = previous, current
    columns = []
    for title, image, settings, other in (("last run", old_image, old_settings, new_settings),
                                          ("this run", new_image, new_settings, old_settings)):
        lines = "<br>".join(studio_logic.settings_lines(settings, other))
        caption = f'<b>{title}</b><div style="line-height: 1.25"><small>{lines}</small></div>'
        column = picture_with_caption(image, caption,
                                      size=256, width="256px")
        columns.append(column)
    return columns
