"""Reads a lesson's questions and exercises, so tests can check that the instructors' notes
answer every one of them (tests/test_instructors.py).

Run it to list them: ``python instructors/lesson_text.py lessons/03_content.ipynb``.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys


def markdown_cells(path: str | pathlib.Path) -> list[str]:
    """The text of a notebook's markdown cells, whitespace collapsed to single spaces."""
    cells = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["cells"]
    return [" ".join("".join(cell["source"]).split()) for cell in cells
            if cell["cell_type"] == "markdown"]


def normalize(text: str) -> str:
    """Collapses whitespace and replaces code spans by CODE and maths by MATH."""
    text = re.sub(r"`[^`]*`", "CODE", " ".join(text.split()))
    return re.sub(r"\$[^$]*\$", "MATH", text)


def questions(path: str | pathlib.Path) -> list[str]:
    """Every sentence of the lesson's prose that ends in '?', normalized (see `normalize`)."""
    found = []
    for text in markdown_cells(path):
        for sentence in re.findall(r"[^.?!:]*\?", normalize(text)):
            sentence = sentence.strip(" *-)(0123456789")
            if len(sentence.split()) >= 3:
                found.append(sentence)
    return found


def exercise_numbers(path: str | pathlib.Path) -> list[int]:
    """The lesson's exercise numbers: "**Exercise N.**", or lines "N. ..." after "## Exercises"."""
    cells = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["cells"]
    numbers, in_exercises = set(), False
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        if text.startswith("## "):
            in_exercises = text.startswith("## Exercises")
        numbers.update(int(n) for n in re.findall(r"\*\*Exercise (\d+)\.\*\*", text))
        if in_exercises:
            numbers.update(int(n) for n in re.findall(r"^(\d+)\. ", text, flags=re.MULTILINE))
    return sorted(numbers)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: exercises {exercise_numbers(name)}")
        for question in questions(name):
            print("  ?", question)
