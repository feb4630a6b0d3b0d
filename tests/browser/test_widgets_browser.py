"""Every widget in real JupyterLab, driven by headless Chromium: its controls are operated and
what changes on screen is checked.

One JupyterLab server serves the module (tests open their own notebooks): the activation
explorer, the Gram viewer and the live loss plot in small notebooks of their own, then
lessons 02 (the explorer) and 04 (the Gram viewer) run whole, as a student runs them
(Run > Run All Cells, fast mode), and their widget operated.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from browser_helpers import (
    browser_page,
    html_text,
    image_sources,
    image_widths,
    notebook_url,
    open_notebook,
    run_all_cells,
    run_first_cell,
    select,
    stretched_images,
    toggle,
    wait_until,
    widget_box,
    write_notebook,
)

pytestmark = pytest.mark.browser

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
SETUP = ("import nst_teach as nst\n"
         "from nst_teach import widgets\n"
         "weights = nst.load_weights('vgg16', 'hed')\n"
         "photo = nst.sample_image('grace_hopper', max_size=64)\n"
         "painting = nst.sample_image('swirls', max_size=64)\n")


def open_widget_notebook(page, lab, name: str, code: str, marker: str):
    """Writes a one-cell notebook, opens and runs it; returns the widget holding `marker`."""
    base, token, folder = lab
    write_notebook(folder / f"{name}.ipynb", [SETUP + code])
    open_notebook(page, notebook_url(base, token, f"{name}.ipynb"))
    run_first_cell(page)
    box = widget_box(page, marker)
    box.wait_for(timeout=180_000)
    return box


def changes(read, action, message: str, timeout: float = 60):
    """Does `action` and waits until `read()` returns something else."""
    before = read()
    action()
    wait_until(lambda: read() != before, timeout=timeout, message=message)


def test_activation_explorer_in_the_browser(shared_jupyterlab):
    folder = shared_jupyterlab[2]
    with browser_page(folder, "explorer", viewport=(1400, 2000)) as page:
        explorer = open_widget_notebook(
            page, shared_jupyterlab, "explorer",
            "widgets.ActivationExplorer(weights, {'photo': photo, 'painting': painting}, "
            "max_size=64).widget", "rank by")
        wait_until(lambda: re.search(r"activations 64 × \d+ × 64", html_text(explorer)),
                   timeout=60, message="the explorer did not describe block1_conv1")
        changes(lambda: html_text(explorer), lambda: select(explorer, "layer", "block3_conv1"),
                "choosing a layer did not change the description")
        wait_until(lambda: re.search(r"activations 16 × \d+ × 256", html_text(explorer))
                   and "24 × 24 input pixels" in html_text(explorer), timeout=60,
                   message="block3_conv1's shape and receptive field are not shown")
        changes(lambda: image_sources(explorer), lambda: select(explorer, "rank by", "max"),
                "ranking by maximum did not redraw the grid")
        changes(lambda: image_sources(explorer), lambda: select(explorer, "image", "painting"),
                "choosing the other image did not redraw")
        changes(lambda: image_sources(explorer), lambda: toggle(explorer, "compare"),
                "ticking compare did not draw the two images")
        page.screenshot(path=str(folder / "explorer.png"), full_page=True)


def test_gram_viewer_in_the_browser(shared_jupyterlab):
    folder = shared_jupyterlab[2]
    with browser_page(folder, "gram", viewport=(1400, 2000)) as page:
        viewer = open_widget_notebook(
            page, shared_jupyterlab, "gram",
            "widgets.GramViewer(weights, painting, photo, max_size=64).widget", "Pairs that")
        wait_until(lambda: "Style loss at block1_conv1" in html_text(viewer), timeout=60,
                   message="the Gram viewer did not show block1_conv1's loss")
        assert "Pairs that differ most (raw)" in html_text(viewer)
        changes(lambda: image_sources(viewer), lambda: toggle(viewer, "correlation"),
                "the correlation view did not redraw the matrices")
        wait_until(lambda: "Pairs that differ most (correlation)" in html_text(viewer),
                   timeout=30, message="the pairs were not listed for the correlation view")
        changes(lambda: html_text(viewer), lambda: select(viewer, "layer", "block4_conv1"),
                "choosing a layer did not change the loss line")
        assert "Style loss at block4_conv1" in html_text(viewer)
        assert not stretched_images(viewer), "a Gram viewer figure is stretched"
        page.screenshot(path=str(folder / "gram.png"), full_page=True)


def test_live_loss_plot_in_the_browser(shared_jupyterlab):
    folder = shared_jupyterlab[2]
    code = ("import threading\n"
            "plot = widgets.LossPlot(every_seconds=0.2)\n"
            "threading.Thread(target=lambda: nst.stylize(photo, painting, weights=weights, "
            "num_steps=40, callbacks=[plot], progress=False, verbose=False)).start()\n"
            "plot.widget")
    with browser_page(folder, "loss_plot") as page:
        plot = open_widget_notebook(page, shared_jupyterlab, "loss_plot", code, "x axis")
        wait_until(lambda: any(width >= 300 for width in image_widths(plot)), timeout=120,
                   message="the loss plot was not drawn")
        first = image_sources(plot)
        wait_until(lambda: image_sources(plot) != first, timeout=120,
                   message="the loss plot did not update as the run went on")
        page.wait_for_timeout(3000)  # let the 40 steps end
        wide = max(image_widths(plot))
        changes(lambda: image_sources(plot), lambda: toggle(plot, "seconds"),
                "the seconds axis did not redraw the plot")
        changes(lambda: image_sources(plot), lambda: toggle(plot, "per layer"),
                "hiding the per-layer panel did not redraw the plot")
        wait_until(lambda: max(image_widths(plot)) < wide, timeout=30,
                   message="without the per-layer panel the plot should be narrower")
        assert not stretched_images(plot), "the plot is stretched beyond its own width"
        page.screenshot(path=str(folder / "loss_plot.png"), full_page=True)


@pytest.mark.parametrize("lesson, marker, operate", [
    ("02_what_a_cnn_sees", "rank by", "explorer"),
    ("04_style_as_statistics", "Pairs that", "gram"),
])
def test_lesson_widgets_in_jupyterlab(shared_jupyterlab, lesson, marker, operate):
    base, token, folder = shared_jupyterlab
    shutil.copy(LESSONS / f"{lesson}.ipynb", folder / f"{lesson}.ipynb")
    with browser_page(folder, lesson, viewport=(1400, 1400)) as page:
        open_notebook(page, notebook_url(base, token, f"{lesson}.ipynb"))
        run_all_cells(page, timeout_seconds=600)
        box = widget_box(page, marker)
        box.scroll_into_view_if_needed()
        if operate == "explorer":
            changes(lambda: html_text(box), lambda: select(box, "layer", "block2_conv1"),
                    f"{lesson}: choosing a layer in the explorer changed nothing")
            assert "block2_conv1" in html_text(box)
        else:
            changes(lambda: image_sources(box), lambda: toggle(box, "centred"),
                    f"{lesson}: the centred view of the Gram viewer changed nothing")
            assert "Pairs that differ most (centred)" in html_text(box)
        box.screenshot(path=str(folder / f"{lesson}.png"))
