"""Runs the solved lessons at full size before class, so a live class shows results instantly.

    python instructors/precompute.py            # every lesson (about 20 minutes on 2 cores)
    python instructors/precompute.py 04 08      # some lessons

For each lesson it makes the solved copy (`make_solutions.py`), executes it in full
mode and saves it with all its outputs in `instructors/precomputed/` (not committed:
the pictures depend on the weights and paintings your machine has). Open that copy
in class and scroll to a slow cell's pictures instead of running it. It also writes
`instructors/precomputed/slow_cells.md`: every cell that took more than `SLOW_SECONDS`,
with its time, the cells to show from the precomputed copy rather than run live. Each
lesson runs in a process of its own (several notebooks executed one after the other in
one process can leave nbclient waiting for a message that never comes).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_solutions

OUTPUT = HERE / "precomputed"
SLOW_CELLS = OUTPUT / "slow_cells.md"
SLOW_SECONDS = 5.0
CELL_TIMEOUT_SECONDS = 900


def cell_seconds(cell: dict) -> float | None:
    """Seconds a cell took, from the timing nbclient records (None if it did not run)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def slow_cells(notebook: dict, threshold: float = SLOW_SECONDS) -> list[tuple[int, float, str]]:
    """(cell number as Jupyter counts from 1, seconds, first line) of every cell over threshold."""
    found = []
    for number, cell in enumerate(notebook["cells"], start=1):
        seconds = cell_seconds(cell) if cell["cell_type"] == "code" else None
        if seconds is not None and seconds > threshold:
            first_line = "".join(cell["source"]).split("\n")[0]
            found.append((number, seconds, first_line))
    return found


def execute(path: pathlib.Path) -> None:
    """Executes a notebook in full mode in its folder and saves it with outputs and timings."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    os.environ["NST_TEACH_FAST"] = "0"  # the kernel inherits it
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS, record_timing=True,
                                     kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(notebook, path)


def slow_cells_table(rows: dict[str, list[tuple[int, float, str]]]) -> str:
    intro = (f"Cells over {SLOW_SECONDS:.0f} s in full mode, measured by "
             "`python instructors/precompute.py` on a 2-core CPU "
             f"({datetime.date.today().isoformat()}). Cell numbers count from 1 in the "
             "instructors' solved copy (its first cell is the banner).")
    lines = ["# Cells to show precomputed rather than run live", "", intro, "",
             "| lesson | cell | seconds | starts with |", "|---|---|---|---|"]
    for stem, cells in rows.items():
        lines += [f"| {stem} | {number} | {seconds:.0f} | `{first.replace('|', '/')}` |"
                  for number, seconds, first in cells] or [f"| {stem} | - | - | (none) |"]
    return "\n".join(lines) + "\n"


def main(selected: list[str]) -> None:
    written = make_solutions.main(OUTPUT)
    rows = {}
    for path in written:
        if selected and path.name[:2] not in selected:
            path.unlink()
            continue
        subprocess.run([sys.executable, __file__, "--one", str(path)], check=True)
        rows[path.stem] = slow_cells(json.loads(path.read_text(encoding="utf-8")))
        print(f"{path.stem}: {len(rows[path.stem])} slow cell(s)", flush=True)
    SLOW_CELLS.write_text(slow_cells_table(rows), encoding="utf-8")
    print(f"wrote {SLOW_CELLS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:  # the child: one lesson
        execute(pathlib.Path(sys.argv[2]))
    else:
        main(sys.argv[1:])
