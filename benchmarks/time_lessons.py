"""Times every lesson in full mode: seconds and peak memory, one lesson at a time.

Each lesson runs as CI runs it (nbval, every cell, `--nbval-lax`), but with
`NST_TEACH_FAST=0`, so at its default size and number of steps, in a child
process of its own. The peak memory is the largest resident set among that
child's processes (`ru_maxrss` of its children: the notebook's kernel), which is
what Binder's 2 GB limit is about.

    flock /tmp/tf.lock python benchmarks/time_lessons.py            # every lesson
    flock /tmp/tf.lock python benchmarks/time_lessons.py 06 07      # some lessons
    python benchmarks/time_lessons.py --write                       # and record them
    python benchmarks/time_lessons.py --write --precision float32   # as on most Binder/Colab CPUs

`--write` merges the measurements into docs/lesson_times.json and writes them
where people read them: the README's lesson table (a "full mode" column) and the
line under each lesson's title, which also gives a reading time (Markdown words
at 120 a minute, 45 s per code cell, 10 minutes of exercises, to 5 minutes).
tests/test_docs.py checks that both agree with the JSON.
The figures depend on the CPU; the table records which one (for each precision). The
default precision, "auto", is bfloat16 where the CPU has it natively; most Binder and Colab
CPUs do not, so `--precision float32` measures that case too, and both are shown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
TABLE = ROOT / "docs" / "lesson_times.json"
LIMIT_SECONDS = 300


def run_one(notebook: pathlib.Path, precision: str) -> dict:
    """Runs one lesson under nbval in full mode; returns seconds, peak MB and status."""
    environment = dict(os.environ, NST_TEACH_FAST="0", TF_CPP_MIN_LOG_LEVEL="3",
                       NST_TEACH_PRECISION=precision)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--nbval-lax", "--nbval-current-env", str(notebook)]
    start = time.perf_counter()
    completed = subprocess.run(command, check=False, cwd=ROOT, env=environment,
                               capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_kilobytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last_line = (completed.stdout.strip().splitlines() or ["(no output)"])[-1]
    return {"seconds": round(seconds, 1), "peak_memory_mb": round(peak_kilobytes / 1024),
            "passed": completed.returncode == 0, "pytest": last_line}


TIME_LINE = ("*About {minutes} minutes with the exercises; the full-size run takes {seconds} on a "
             "2-core CPU.*")
KEYS = {"auto": ("seconds", "peak_memory_mb"),
        "float32": ("float32_seconds", "float32_peak_memory_mb")}


def reading_minutes(notebook: dict) -> int:
    """Minutes to read a lesson and do its exercises, rounded to 5 (see the module docstring)."""
    words = sum(len(" ".join(cell["source"]).split()) for cell in notebook["cells"][1:]
                if cell["cell_type"] == "markdown")
    code_cells = sum(cell["cell_type"] == "code" for cell in notebook["cells"])
    return int(5 * round((words / 120 + 0.75 * code_cells + 10) / 5))


def seconds_text(row: dict) -> str:
    """"96 s (120 s in float32)": the default precision's seconds, and float32's when measured."""
    text = f"{row['seconds']:.0f} s"
    return text + (f" ({row['float32_seconds']:.0f} s in float32)" if "float32_seconds" in row
                   else "")


def time_line(path: pathlib.Path, row: dict) -> str:
    """The line under a lesson's title: its reading time and its full-mode seconds."""
    return TIME_LINE.format(minutes=reading_minutes(json.loads(path.read_text())),
                            seconds=seconds_text(row))


def table_cell(row: dict) -> str:
    """The README's "full mode" cell: seconds and peak memory (float32's too, when measured)."""
    memory = f"{row['peak_memory_mb'] / 1024:.1f} GB"
    if "float32_peak_memory_mb" in row:
        memory += f" ({row['float32_peak_memory_mb'] / 1024:.1f} GB in float32)"
    return f"{seconds_text(row)}, {memory}"


def write_lessons(table: dict) -> None:
    """Writes each lesson's time line under its title, and the README's "full mode" column."""
    readme = (ROOT / "README.md").read_text().splitlines()
    for stem, row in table["lessons"].items():
        path = LESSONS / f"{stem}.ipynb"
        notebook = json.loads(path.read_text())
        title = "".join(notebook["cells"][0]["source"]).split("\n\n*About")[0]
        notebook["cells"][0]["source"] = (title + "\n\n" + time_line(path, row)).splitlines(True)
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        readme = [line if f"(lessons/{stem}.ipynb)" not in line
                  else "|".join(line.split("|")[:3]) + f"| {table_cell(row)} |" for line in readme]
    (ROOT / "README.md").write_text("\n".join(readme) + "\n")
    write_instructor_table(table)


def instructor_row(stem: str, row: dict) -> str:
    """A row of instructors/README.md's table: lesson, reading time, full mode, the notes."""
    path = LESSONS / f"{stem}.ipynb"
    notebook = json.loads(path.read_text())
    title = "".join(notebook["cells"][0]["source"]).split("\n")[0].lstrip("# ")
    return (f"| [{title}](../lessons/{stem}.ipynb) | {reading_minutes(notebook)} min | "
            f"{table_cell(row)} | [notes and answers](answers/{stem}.md) |")


def write_instructor_table(table: dict) -> None:
    """Rewrites the rows of instructors/README.md's lesson table from the measurements."""
    guide_path = ROOT / "instructors" / "README.md"
    guide = guide_path.read_text().splitlines()
    for stem, row in table["lessons"].items():
        guide = [instructor_row(stem, row) if f"(answers/{stem}.md)" in line else line
                 for line in guide]
    guide_path.write_text("\n".join(guide) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--write", action="store_true", help="merge into docs/lesson_times.json")
    parser.add_argument("--precision", choices=sorted(KEYS), default="auto",
                        help="NST_TEACH_PRECISION of the runs (auto: bfloat16 where the CPU has it)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:  # the child: one lesson, so that ru_maxrss is its own
        print(json.dumps(run_one(pathlib.Path(arguments.one), arguments.precision)))
        return 0
    notebooks = sorted(LESSONS.glob("*.ipynb"))
    if arguments.lessons:
        notebooks = [path for path in notebooks if path.name[:2] in arguments.lessons]
    table = json.loads(TABLE.read_text()) if TABLE.exists() else {"lessons": {}}
    seconds_key, memory_key = KEYS[arguments.precision]
    print(f"precision {arguments.precision}\n{'lesson':40s} {'seconds':>8s} {'peak MB':>8s}  result")
    failed = False
    for notebook in notebooks:
        child = subprocess.run([sys.executable, __file__, "--one", str(notebook), "--precision",
                                arguments.precision], capture_output=True, text=True, check=True)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        flag = "" if row["seconds"] <= LIMIT_SECONDS else f"  over {LIMIT_SECONDS} s"
        print(f"{notebook.stem:40s} {row['seconds']:8.0f} {row['peak_memory_mb']:8d}  "
              f"{row['pytest']}{flag}", flush=True)
        if not row["passed"]:  # its time is not recorded: fix the lesson and time it again
            failed = True
            continue
        table["lessons"].setdefault(notebook.stem, {}).update(
            {seconds_key: row["seconds"], memory_key: row["peak_memory_mb"]})
    if arguments.write:
        from report import (
            machine,  # benchmarks/report.py: CPU, cores, bfloat16, versions
        )

        table[f"machine_{arguments.precision}"] = machine()
        table.update(date=datetime.date.today().isoformat(),
                     command="python benchmarks/time_lessons.py --write [--precision float32]")
        TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        write_lessons(table)
        print(f"wrote {TABLE.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
