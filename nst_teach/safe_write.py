"""Writing files so that a full disk or a read-only folder loses nothing.

`write_atomically` writes to a temporary file beside the target and renames it
into place, so a file at `path` is always complete: either the old one or the
new one. If writing fails, the temporary file is removed and a `SaveError`
says what could not be written, why, and that it is still in memory.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Callable


class SaveError(OSError):
    """A file could not be written; what was being saved is still in memory."""


def write_atomically(path: str | os.PathLike, write: Callable[[pathlib.Path], None],
                     what: str) -> pathlib.Path:
    """Calls `write(temporary_path)` and renames the result to `path`.

    Args:
        path: The file to write; its folders are created.
        write: Writes the whole file at the path it is given (same suffix as `path`).
        what: What is saved, for the error message (e.g. "the image").

    Returns:
        `path`, as a `pathlib.Path`.

    Raises:
        SaveError: If the folder cannot be created or written (read-only, disk full,
            ...); nothing is left at `path` or beside it.
    """
    path = pathlib.Path(path).expanduser()
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-",
                                        suffix=path.suffix)
        os.close(handle)
        temporary = pathlib.Path(name)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        reason = error.strerror or str(error) or type(error).__name__
        raise SaveError(error.errno, f"Could not save {what} to {path}: {reason}. Nothing was "
                        f"written there; {what} is still in memory: save it to another folder "
                        "(or free some disk space) and try again.") from error
    return path
