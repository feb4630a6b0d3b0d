"""What the browser tests share: servers, headless Chromium, page helpers (fixtures: conftest).

Each server starts on 127.0.0.1 with a token, in a temporary folder, with the
sample cache there too; pages are driven by Playwright through Debian's
`chromium` (no browser download). Where CI requires the browser tests
(`NST_TEACH_REQUIRE_BROWSER=1`) a missing piece fails them instead of skipping.
The server inherits `NST_TEACH_FAST=1` from the root conftest, so notebooks run
in fast mode (64 px).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
SERVER_START_SECONDS = 90


def missing(what: str) -> None:
    """Skips, or fails where CI requires the browser tests (NST_TEACH_REQUIRE_BROWSER=1)."""
    if os.environ.get("NST_TEACH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser test cannot run: {what}")
    pytest.skip(what)


def require(*modules: str) -> str:
    """Checks the Python modules and Chromium are there; returns Chromium's path."""
    for module in ("playwright", *modules):
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install -e '.[browser]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing("Debian's chromium is not installed (apt-get install chromium)")
    return chromium


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells with the python3 kernelspec (or JupyterLab asks which)."""
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                           "outputs": [], "source": source} for source in cells],
                "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}}}
    path.write_text(json.dumps(notebook))


@contextlib.contextmanager
def server(command: list[str], ready_url: str, folder: Path, name: str):
    """Runs a server until the block ends; waits until `ready_url` answers."""
    log_path = folder / f"{name}.log"
    log = open(log_path, "w")
    settings = folder / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)  # no "notified about Jupyter news?" toast
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    environment = {**os.environ, "NST_TEACH_CACHE": str(folder / "cache"),
                   "JUPYTERLAB_SETTINGS_DIR": str(folder / "lab-settings"),
                   "JUPYTERLAB_WORKSPACES_DIR": str(folder / "lab-workspaces")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                               cwd=folder)
    try:
        deadline = time.time() + SERVER_START_SECONDS
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited: {log_path.read_text()}")
                if time.time() > deadline:
                    pytest.fail(f"{name} did not start within {SERVER_START_SECONDS} s")
                time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def lab_command(port: int, token: str, folder: Path) -> list[str]:
    return [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser",
            "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]


@contextlib.contextmanager
def browser_page(folder: Path, name: str, viewport=(1400, 1000)):
    """A headless Chromium page; a screenshot `<name>-failure.png` in `folder` if the block fails."""
    from playwright import sync_api

    chromium = require()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        try:
            yield page
        except BaseException:
            page.screenshot(path=str(folder / f"{name}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def notebook_url(base: str, token: str, name: str) -> str:
    """A notebook's JupyterLab URL; `reset` opens it alone (not the tabs of earlier tests)."""
    return f"{base}/lab/tree/{name}?reset&token={token}"


def open_notebook(page, url: str) -> None:
    """Opens a notebook in JupyterLab and waits until its kernel is idle."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor >> visible=true",
                           timeout=120_000)
    # Wait for the kernel: a Shift+Enter sent while it starts can land in the wrong cell.
    page.wait_for_function(r"() => /\|\s*Idle/.test(document.body.innerText)",  # status bar
                           timeout=120_000)


def run_first_cell(page) -> None:
    page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor >> visible=true").first.click()
    page.keyboard.press("Shift+Enter")


def run_all_cells(page, timeout_seconds: float) -> None:
    """Run > Run All Cells, then waits until no cell is queued or running (`[*]`) and the
    kernel is idle; fails on an error output."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    wait_until(lambda: page.locator(".jp-InputPrompt", has_text="[*]").count() > 0
               or notebook_done(page), timeout=60, message="Run All Cells did not start")
    wait_until(lambda: notebook_done(page), timeout=timeout_seconds,
               message=f"the notebook did not finish within {timeout_seconds} s")
    errors = page.locator("[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, f"a cell failed: {errors.first.inner_text()[-2000:]}"


def notebook_done(page) -> bool:
    busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
    idle = page.evaluate(r"() => /\|\s*Idle/.test(document.body.innerText)")
    return busy == 0 and idle


def widget_button(scope, label: str):
    """An ipywidgets button by its exact label (its icon adds no text)."""
    return scope.locator("button.jupyter-button",
                         has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first


def widget_box(page, text: str):
    """The outermost widget area holding `text` (one widget's whole view)."""
    return page.locator(".jp-OutputArea-output .jupyter-widgets").filter(has_text=text).first


def image_sources(scope) -> list[str]:
    return scope.locator("img").evaluate_all("els => els.map(e => e.src)")


def image_widths(scope) -> list[int]:
    return scope.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")


def stretched_images(scope) -> list[str]:
    """The images shown wider than their own pixels (blurred by the browser's upscaling)."""
    return scope.locator("img").evaluate_all(
        "els => els.filter(e => e.naturalWidth && e.getBoundingClientRect().width"
        " > e.naturalWidth + 1).map(e => e.naturalWidth + ' px shown at '"
        " + Math.round(e.getBoundingClientRect().width))")


def html_text(scope) -> str:
    return " ".join(scope.locator(".widget-html-content").all_inner_texts())


def select(scope, description: str, value: str) -> None:
    """Chooses `value` in the ipywidgets Dropdown whose description is `description`."""
    dropdown = scope.locator(".widget-dropdown").filter(
        has=scope.page.locator("label", has_text=re.compile(rf"^{re.escape(description)}$")))
    dropdown.locator("select").first.select_option(label=value)


def toggle(scope, label: str) -> None:
    """Clicks the ToggleButtons button (or Checkbox) labelled `label`."""
    button = scope.locator(".widget-toggle-button", has_text=re.compile(
        rf"^\s*{re.escape(label)}\s*$"))
    if button.count():
        button.first.click()
    else:
        scope.locator(".widget-checkbox", has_text=label).locator("input").first.click()


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(message)
