"""Colab, rehearsed on this machine: its versions, the lessons' install cell, every lesson and the
widget tests.

Colab's preinstalled versions, from its public backend record (2026-08, as quoted in the
project's Binder/Colab issue): Python 3.13, TensorFlow 2.20.0, Keras 3.13.2, ipywidgets 7.7.1
(8 is not supported there), numpy 2.1.3, matplotlib 3.10.0, notebook 6.5.7, no ipympl. This
script puts exactly those in a new virtual environment (pyenv's Python 3.13), runs the
lessons' install cell as written but pointed at a fresh clone of this checkout
(`pip install "nst_teach @ git+file://CLONE"`, which must keep Colab's versions), installs the
test tools, checks the versions again, then runs every lesson and the dashboard in fast mode
under nbval and the headless widget tests, and prints the summary.

    python benchmarks/rehearse_colab.py                  # prints the versions and the results
    python benchmarks/rehearse_colab.py --write-docs     # into docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from rehearsal import pyenv_python, run, work_folder  # noqa: E402
from report import Report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYTHON = "3.13"
COLAB = {"tensorflow": "2.20.0", "keras": "3.13.2", "ipywidgets": "7.7.1", "numpy": "2.1.3",
         "matplotlib": "3.10.0", "notebook": "6.5.7"}
TESTS = ["lessons", "dashboard", "tests/test_widgets.py", "tests/test_studio_logic.py"]


def installed(python: pathlib.Path, names) -> dict[str, str]:
    code = ("import importlib.metadata as m, sys; "
            "print(' '.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))")
    out = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True,
                         check=True).stdout.split()
    return dict(item.split("==") for item in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", help="reuse this virtual environment (made with Colab's pins)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    report = Report("rehearse_colab")
    with work_folder("nst_colab_", args.keep) as work:
        clone = work / "repo"
        run(["git", "clone", "--quiet", str(ROOT), str(clone)])
        venv = pathlib.Path(args.venv) if args.venv else work / "venv"
        python = venv / "bin" / "python"
        if not args.venv:
            run([str(pyenv_python(PYTHON)), "-m", "venv", str(venv)])
            run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
            run([str(python), "-m", "pip", "install", "--quiet",
                 *[f"{name}=={version}" for name, version in COLAB.items()]])
        # The lessons' install cell, as written, but pointed at the clone.
        run([str(python), "-m", "pip", "install", "-q", f"nst_teach @ git+file://{clone}"])
        run([str(python), "-m", "pip", "install", "-q", "pytest>=7", "scipy>=1.9",
             "nbval>=0.10", "ipykernel>=6,<7", "nbformat>=5", "packaging"])
        versions = installed(python, COLAB)
        kept = all(versions[name] == version for name, version in COLAB.items())
        python_version = subprocess.run([str(python), "-c", "import platform; "
                                         "print(platform.python_version())"],
                                        capture_output=True, text=True).stdout.strip()
        report.line(f"Colab's record (2026-08): Python {PYTHON}, "
                    + ", ".join(f"{n} {v}" for n, v in COLAB.items()))
        report.line(f"installed after the lessons' install cell: Python {python_version}, "
                    + ", ".join(f"{n} {v}" for n, v in versions.items())
                    + (" (all kept)" if kept else " (CHANGED)"))
        started = time.perf_counter()
        environment = {**os.environ, "NST_TEACH_FAST": "1", "PATH": f"{venv / 'bin'}:"
                       + os.environ.get("PATH", ""), "NST_TEACH_CACHE": str(work / "cache")}
        environment.pop("VIRTUAL_ENV", None)
        result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "-W", "ignore::DeprecationWarning", *TESTS], cwd=clone,
                                env=environment, capture_output=True, text=True)
        summary = [line for line in result.stdout.splitlines()
                   if re.search(r"\d+ (passed|failed|error)", line)]
        report.line(f"python -m pytest {' '.join(TESTS)} (fast mode): "
                    f"{summary[-1] if summary else 'no summary'}; exit {result.returncode}; "
                    f"{time.perf_counter() - started:.0f} s")
        for line in result.stdout.splitlines():
            if line.startswith(("FAILED", "ERROR")):
                report.line(line)
        report.write()
        sys.exit(0 if result.returncode == 0 and kept else 1)


if __name__ == "__main__":
    main()
