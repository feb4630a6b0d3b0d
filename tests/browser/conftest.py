"""The browser tests' fixtures: JupyterLab servers (helpers in `browser_helpers`)."""

from __future__ import annotations

import secrets

import pytest
from browser_helpers import free_port, lab_command, require, server


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on loopback for one test; yields (base URL, token, folder)."""
    require("jupyterlab")
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    with server(lab_command(port, token, tmp_path), f"{base}/api/status?token={token}",
                tmp_path, "jupyterlab"):
        yield base, token, tmp_path


@pytest.fixture(scope="module")
def shared_jupyterlab(tmp_path_factory):
    """One JupyterLab server for the tests of a module (each opens its own notebook)."""
    require("jupyterlab")
    folder = tmp_path_factory.mktemp("lab")
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    with server(lab_command(port, token, folder), f"{base}/api/status?token={token}",
                folder, "jupyterlab"):
        yield base, token, folder
