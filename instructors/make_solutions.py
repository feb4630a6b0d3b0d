"""Writes the instructors' copies of the lessons, with every exercise solved.

    python instructors/make_solutions.py            # into instructors/solved/
    python instructors/make_solutions.py OUTPUT_DIR

Each lesson's "TODO" cell is replaced by the solution of the same name from
`solutions.py` (its source, so the notebook reads on its own), and each check
cell becomes `assert nst.checks.check_...(...)`: run in order, a solved notebook
fails at the first solution its check rejects. The students' notebooks stay
without solutions; these copies are made, not committed (tests/test_instructors.py
makes and executes them in CI).
"""

from __future__ import annotations

import inspect
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
LESSONS = HERE.parent / "lessons"
DEFAULT_OUTPUT = HERE / "solved"
BANNER = ("**Instructors' copy, exercises solved.** Made by `instructors/make_solutions.py` from "
          "`lessons/{name}` and `instructors/solutions.py`: edit those, not this file.")
CHECK_CALL = re.compile(r"^nst\.checks\.check_\w+\(", re.MULTILINE)


def solution_sources() -> dict[str, str]:
    """Solution name (a function or a constant of solutions.py) -> its source text."""
    sys.path.insert(0, str(HERE))
    try:
        import solutions
    finally:
        sys.path.remove(str(HERE))
    sources = {name: inspect.getsource(value) for name, value in vars(solutions).items()
               if inspect.isfunction(value) and value.__module__ == solutions.__name__}
    sources["FEATURE_SHAPES_224"] = "answers = {\n" + "".join(
        f'    "{layer}": {shape!r},\n' for layer, shape in solutions.FEATURE_SHAPES_224.items()) + "}"
    return sources


def solved_cell(source: str, sources: dict[str, str]) -> str | None:
    """The solved source of an exercise cell ("TODO"), or None if `source` is not one."""
    if "TODO" not in source:
        return None
    if source.startswith("answers = {"):  # lesson 02: shapes written by hand
        return sources["FEATURE_SHAPES_224"]
    if source.startswith("style_weight = None"):  # lesson 08: found by bisection
        return (sources["choose_style_weight"] + "\n\n"
                "style_weight = choose_style_weight(\n"
                "    lambda weight: nst.checks.style_loss_reduction(run(style_weight=weight)),\n"
                "    default_style_weight)\n"
                "style_weight")
    match = re.match(r"def (\w+)\(", source)
    if match is None or match.group(1) not in sources:
        raise ValueError(f"no solution in instructors/solutions.py for the exercise cell:\n{source}")
    return sources[match.group(1)].rstrip("\n")


def solve_notebook(lesson: pathlib.Path, sources: dict[str, str]) -> tuple[dict, int]:
    """The lesson with its exercises solved and its checks asserted; and how many were solved."""
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    solved = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        replacement = solved_cell(source, sources)
        if replacement is not None:
            solved += 1
        elif CHECK_CALL.match(source):
            replacement = "assert " + source
        if replacement is not None:
            lines = replacement.split("\n")
            cell["source"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    banner = {"cell_type": "markdown", "id": "instructors-banner", "metadata": {},
              "source": [BANNER.format(name=lesson.name)]}
    notebook["cells"].insert(0, banner)
    return notebook, solved


def main(output: pathlib.Path = DEFAULT_OUTPUT) -> list[pathlib.Path]:
    output.mkdir(parents=True, exist_ok=True)
    sources = solution_sources()
    written = []
    for lesson in sorted(LESSONS.glob("[0-9][0-9]_*.ipynb")):
        notebook, solved = solve_notebook(lesson, sources)
        path = output / lesson.name
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        print(f"{path}: {solved} exercise(s) solved")
        written.append(path)
    return written


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT)
