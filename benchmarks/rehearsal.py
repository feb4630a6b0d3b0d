"""What the rehearsal scripts share: commands echoed as they run, pyenv's interpreters."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

NO_INTERPRETER = 3  # the exit status when pyenv has no such Python


def run(command: list, **options) -> subprocess.CompletedProcess:
    """Runs a command (printed first), failing on a non-zero exit."""
    print("$", " ".join(str(part) for part in command), flush=True)
    return subprocess.run(command, check=True, **options)


def pyenv_python(version: str) -> pathlib.Path:
    """The newest pyenv interpreter of `version` ("3.11" -> 3.11.7's python).

    Looks in `$PYENV_ROOT/versions` (default `~/.pyenv`), so the `pyenv` command itself
    need not be on the PATH. Exits with status 3 (`NO_INTERPRETER`) if there is none.
    """
    root = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv"))
    found = [path.parent.parent for path in (root / "versions").glob("*/bin/python")
             if path.parent.parent.name == version
             or path.parent.parent.name.startswith(version + ".")]
    found.sort(key=lambda folder: [int(part) for part in folder.name.split(".")
                                   if part.isdigit()])
    if not found:
        print(f"no pyenv Python {version} in {root / 'versions'}", file=sys.stderr)
        raise SystemExit(NO_INTERPRETER)
    return found[-1] / "bin" / "python"


@contextlib.contextmanager
def work_folder(prefix: str, keep: bool):
    """A temporary folder for a rehearsal, removed at the end unless `keep`."""
    work = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
