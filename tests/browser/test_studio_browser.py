"""End to end: the Studio in real JupyterLab, driven by headless Chromium.

Opens a notebook that shows the Studio, runs it, chooses a second style (the
mask preview appears), clicks Run, checks that the preview image changes, the
loss plot and the filmstrip appear, clicks Stop and checks that the run ends,
then ticks compare and Continues, which says it resumes the optimizer's state, and
the last run appears beside the continued one.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_helpers import (
    browser_page,
    html_text,
    image_sources,
    image_widths,
    notebook_url,
    open_notebook,
    run_first_cell,
    select,
    toggle,
    wait_until,
    widget_box,
    widget_button,
    write_notebook,
)

pytestmark = pytest.mark.browser

NOTEBOOK_CELLS = [  # one cell: a single Shift+Enter runs everything, in order
    "import nst_teach as nst\n"
    "from nst_teach.widgets import Studio\n"
    "content = nst.sample_image('grace_hopper', max_size=96)\n"
    "style = nst.sample_image('swirls', max_size=96)\n"
    "studio = Studio(content, style, weights='hed', max_size=96, preview_seconds=0.3)\n"
    "studio.steps.value = 2000\n"
    "studio.widget",
]


def test_studio_runs_previews_and_stops_in_the_browser(jupyterlab):
    base, token, folder = jupyterlab
    write_notebook(folder / "studio.ipynb", NOTEBOOK_CELLS)
    with browser_page(folder, "studio", viewport=(1400, 2600)) as page:  # the whole Studio
        drive_the_studio(page, notebook_url(base, token, "studio.ipynb"), folder)


def drive_the_studio(page, url: str, folder) -> None:
    open_notebook(page, url)
    run_first_cell(page)
    studio = widget_box(page, "strength")
    studio.wait_for(timeout=180_000)
    run_button, stop_button = widget_button(studio, "Run"), widget_button(studio, "Stop")
    run_button.wait_for(timeout=60_000)
    images_before = image_sources(studio)
    select(studio, "second style", "mosaic")  # lesson 09's regions: the mask preview appears
    wait_until(lambda: image_sources(studio) != images_before, timeout=60,
               message="the mask preview did not appear after choosing a second style")
    select(studio, "second style", "(none)")
    images_before = image_sources(studio)

    run_button.click()
    status = studio.locator(".widget-html-content").filter(has_text="step")
    status.first.wait_for(timeout=120_000)
    wait_until(lambda: image_sources(studio) != images_before and step_of(status) >= 3,
               timeout=120, message="the preview did not change / the step did not advance")
    wait_until(lambda: len(image_widths(studio)) >= 4 and max(image_widths(studio)) >= 300,
               timeout=60, message="the loss plot did not appear")
    wait_until(lambda: "step 0" in html_text(studio), timeout=60,
               message="the filmstrip's first frame did not appear")
    step_seen = step_of(status)
    page.screenshot(path=str(folder / "running.png"), full_page=True)

    stop_button.click()
    wait_until(lambda: "stopped" in html_text(studio).lower(), timeout=60,
               message="the run did not end after Stop")
    stopped_at = step_of(status)
    time.sleep(2.0)
    assert step_of(status) == stopped_at, "steps went on after Stop"
    assert stopped_at >= step_seen
    assert not run_button.is_disabled(), "Run should be enabled again after Stop"
    page.screenshot(path=str(folder / "stopped.png"), full_page=True)

    toggle(studio, "compare with the last run")
    widget_button(studio, "Continue").click()
    wait_until(lambda: "its state kept" in html_text(studio), timeout=60,
               message="Continue did not say that it resumes the optimizer's state")
    widget_button(studio, "Stop").click()
    wait_until(lambda: "stopped" in html_text(studio).lower(), timeout=60,
               message="the continued run did not end after Stop")
    wait_until(lambda: "last run" in html_text(studio) and "this run" in html_text(studio),
               timeout=30, message="compare did not show the last run beside this one")
    page.screenshot(path=str(folder / "compared.png"), full_page=True)


def step_of(status) -> int:
    """The step of the status line ("step N / M ..." or "Stopped at step N")."""
    texts = " ".join(status.all_inner_texts())
    numbers = [int(match) for match in re.findall(r"step\s+(\d+)\s*/", texts)]
    numbers += [int(match) for match in re.findall(r"at step\s+(\d+)", texts)]
    return max(numbers, default=-1)
