"""Writes a benchmark's figures into docs/benchmarks.md, the one page that holds them.

Figures go stale in docstrings; here each benchmark script owns one section of
the page, between `<!-- begin NAME -->` and `<!-- end NAME -->`, and rewrites it
every time it runs with `--write-docs`: the machine, the date, the command and
the lines it printed. Docstrings and lessons point to the page instead of
quoting numbers.

    report = Report("bench_stylize")
    report.line("tutorial Adam loop: 3.1 steps/s")   # printed, and kept
    report.write()                                   # only with --write-docs
"""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import re
import shlex
import sys

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Every figure nst_teach quotes, as its benchmark script last wrote it. Each section
is rewritten by the script named in its title, run with `--write-docs` (see the
script's docstring for what it measures). Speed figures depend on the CPU: the
machine line says which one, and whether it computes bfloat16 natively (most Binder
and Colab CPUs do not, so float32 figures are given beside the default precision).
"""


def machine() -> str:
    """One line: CPU model, cores, native bfloat16, Python, TensorFlow, date."""
    model = "unknown CPU"
    flags = ""
    try:
        info = pathlib.Path("/proc/cpuinfo").read_text(errors="replace")
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("model name"))
        flags = next(line for line in info.splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        pass
    bfloat16 = "native bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else \
        "no native bfloat16"
    try:
        import tensorflow as tf

        tensorflow = f"TensorFlow {tf.__version__}"
    except ImportError:
        tensorflow = "no TensorFlow"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model}, {cores} cores, {bfloat16}; Python {platform.python_version()}, "
            f"{tensorflow}; {datetime.date.today().isoformat()}")


class Report:
    """Lines a benchmark prints, kept for its section of docs/benchmarks.md."""

    def __init__(self, name: str, argv: list[str] | None = None, script: str | None = None):
        self.name = name
        self.argv = list(sys.argv if argv is None else argv)
        self.script = script or name
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def section(self) -> str:
        arguments = [argument for argument in self.argv[1:] if argument != "--write-docs"]
        command = shlex.join(["python", f"benchmarks/{self.script}.py", *arguments])
        body = "\n".join(self.lines)
        return (f"<!-- begin {self.name} -->\n## {self.name}\n\n"
                f"Machine: {machine()}.\n\n`{command}`\n\n```text\n{body}\n```\n"
                f"<!-- end {self.name} -->")

    def write(self, page: pathlib.Path = PAGE) -> pathlib.Path | None:
        """Rewrites this benchmark's section of the page, if `--write-docs` was given."""
        if "--write-docs" not in self.argv:
            return None
        text = page.read_text() if page.exists() else HEADER
        pattern = re.compile(rf"<!-- begin {re.escape(self.name)} -->.*?"
                             rf"<!-- end {re.escape(self.name)} -->", re.DOTALL)
        section = self.section()
        text = pattern.sub(lambda _: section, text) if pattern.search(text) else \
            text.rstrip("\n") + "\n\n" + section + "\n"
        page.write_text(text)
        print(f"wrote the {self.name} section of {page}")
        return page
