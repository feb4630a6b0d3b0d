"""The dashboard as students get it: `dashboard/studio.ipynb` served by Voila itself.

Voila runs the notebook and shows only its widgets; the test opens the page in headless
Chromium, starts a run from it, sees the steps advance and the preview change, stops it
and sees the run end.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from browser_helpers import (
    browser_page,
    free_port,
    html_text,
    image_sources,
    require,
    server,
    wait_until,
    widget_button,
)

pytestmark = pytest.mark.browser

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard" / "studio.ipynb"


def current_step(text: str) -> int:
    numbers = [int(match) for match in re.findall(r"step\s+(\d+)\s*/", text)]
    return max(numbers, default=-1)


def test_dashboard_served_by_voila_runs_and_stops(tmp_path):
    require("voila")
    shutil.copy(DASHBOARD, tmp_path / "studio.ipynb")
    port = free_port()
    command = [sys.executable, "-m", "voila", "studio.ipynb", "--no-browser",
               f"--port={port}", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"]
    url = f"http://127.0.0.1:{port}/"
    with server(command, url, tmp_path, "voila"), browser_page(
            tmp_path, "voila", viewport=(1400, 2600)) as page:
        page.goto(url, timeout=300_000)  # Voila runs the whole notebook before it answers
        studio = page.locator(".jupyter-widgets").filter(has_text="strength").first
        studio.wait_for(timeout=300_000)
        assert "Traceback" not in page.inner_text("body")
        run_button = widget_button(page, "Run")
        run_button.wait_for(timeout=60_000)
        images_before = image_sources(page)
        run_button.click()
        wait_until(lambda: current_step(html_text(page)) >= 2, timeout=180,
                   message="the run started from the Voila page did not advance")
        wait_until(lambda: image_sources(page) != images_before, timeout=60,
                   message="the preview did not change")
        page.screenshot(path=str(tmp_path / "voila_running.png"), full_page=True)
        widget_button(page, "Stop").click()
        wait_until(lambda: re.search(r"(Stopped at step|Completed) \d+", html_text(page)),
                   timeout=60, message="the run did not end after Stop")
        assert not run_button.is_disabled()
        page.screenshot(path=str(tmp_path / "voila_stopped.png"), full_page=True)
