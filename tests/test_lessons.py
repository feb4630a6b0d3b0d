"""Static checks of the lesson notebooks: every lesson follows the same template.

These tests read the notebooks' JSON and run nothing. Running the lessons is
nbval's job: `python -m pytest` also collects `lessons/*.ipynb` and executes
them in fast mode (see `[tool.pytest.ini_options]` in pyproject.toml and the
root conftest.py).

The template, in order: one `# NN Title` heading with the Colab and Binder
buttons; `## Learning objectives` (3 to 5 bullets); `## Setup` whose first code
cell installs nst_teach on Colab only and imports it, then a cell loading the
weights once; numbered steps `## 1. ...`, `## 2. ...`; `## Try it` (a widget);
`## Exercises` (stubs checked by `nst.checks`); `## Summary`; `## Next` (a link
to the next lesson). Notebooks are committed without outputs.
"""

from __future__ import annotations

import pathlib
import re

import nbformat
import pytest

from nst_teach.config import REPOSITORY

LESSONS_DIR = pathlib.Path(__file__).resolve().parent.parent / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("*.ipynb"))
FILE_NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
MAX_CODE_LINES = 30
KEEP_OUTPUT_TAG = "keep_output"

SETUP_LINES = [
    "import sys",
    'if "google.colab" in sys.modules:  # on Colab: install nst_teach, keep Colab\'s TensorFlow',
    '    !pip install -q "nst_teach @ git+https://github.com/nst-teach/nst_teach"',
    "import nst_teach as nst",
    "FAST = nst.fast_mode()  # NST_TEACH_FAST=1: small images and few steps (CI)",
]
WEIGHTS_LINE = 'weights = nst.load_weights(weights="auto")'
BEFORE_STEPS = ["Learning objectives", "Setup"]
AFTER_STEPS = ["Try it", "Exercises", "Summary", "Next"]
STEP_HEADING = re.compile(r"^(\d+)\. \S")


def colab_button(file_name: str) -> str:
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{REPOSITORY}/blob/main/lessons/{file_name})")


def binder_button(file_name: str) -> str:
    return ("[![Binder](https://mybinder.org/badge_logo.svg)]"
            f"(https://mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/lessons/{file_name})")


def read(path: pathlib.Path):
    return nbformat.read(path, as_version=4)


def markdown_lines(source: str) -> list[str]:
    """The lines of a Markdown cell outside ``` code fences."""
    lines, fenced = [], False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def headings(notebook, level: int) -> list[tuple[int, str]]:
    """(cell index, text) of every Markdown heading of exactly this level."""
    prefix = "#" * level + " "
    return [(index, line[len(prefix):].strip())
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
            for line in markdown_lines(cell.source) if line.startswith(prefix)]


def section(notebook, title: str) -> list:
    """The cells from the `## title` heading cell up to the next `##` heading cell."""
    level_two = headings(notebook, 2)
    starts = [index for index, text in level_two if text == title]
    assert starts, f"no '## {title}' heading"
    start = starts[0]
    ends = [index for index, _ in level_two if index > start]
    cells = notebook.cells[start:ends[0] if ends else len(notebook.cells)]
    return cells


def code_cells(cells) -> list:
    return [cell for cell in cells if cell.cell_type == "code"]


def lesson_number(path: pathlib.Path) -> int:
    match = FILE_NAME.match(path.name)
    assert match, f"{path.name}: lesson files are named NN_words.ipynb, e.g. 01_images_as_tensors.ipynb"
    return int(match.group(1))


lesson = pytest.mark.parametrize("path", LESSONS, ids=[path.name for path in LESSONS])


def test_lessons_exist():
    assert LESSONS, f"no notebooks in {LESSONS_DIR}"


def test_lessons_are_numbered_without_gaps():
    numbers = [lesson_number(path) for path in LESSONS]
    assert numbers == list(range(len(LESSONS))), (
        f"lesson numbers must be 00, 01, 02... without gaps or repeats, got "
        f"{[path.name for path in LESSONS]}")


@lesson
def test_kernelspec(path):
    kernelspec = read(path).metadata.get("kernelspec", {})
    assert dict(kernelspec) == {"name": "python3", "display_name": "Python 3",
                                "language": "python"}


@lesson
def test_committed_without_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or KEEP_OUTPUT_TAG in cell.metadata.get("tags", []):
            continue
        assert cell.outputs == [], f"cell {index} has outputs: clear them before committing"
        assert cell.execution_count is None, f"cell {index} has an execution count"


@lesson
def test_code_cells_are_short(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            count = len(cell.source.rstrip("\n").splitlines())
            assert count <= MAX_CODE_LINES, (
                f"cell {index} has {count} lines (at most {MAX_CODE_LINES}): split it")


@lesson
def test_title_and_buttons(path):
    notebook = read(path)
    first = notebook.cells[0]
    assert first.cell_type == "markdown", "the first cell is the title (Markdown)"
    title = first.source.lstrip().splitlines()[0]
    assert re.match(rf"^# {path.name[:2]} \S", title), (
        f"the first line must be '# {path.name[:2]} Title', got {title!r}")
    assert len(headings(notebook, 1)) == 1, "exactly one '# ' heading (the title)"
    for button in (colab_button(path.name), binder_button(path.name)):
        assert button in first.source, f"the title cell needs this button:\n{button}"
    for cell in notebook.cells:  # a copied lesson keeps its old file name in the buttons
        for address in re.findall(r"\((https://(?:colab\.research\.google\.com/github|"
                                  r"mybinder\.org/v2)/[^)\s]*)\)", cell.source):
            assert address.endswith("lessons/" + path.name), f"button points elsewhere: {address}"


@lesson
def test_sections_in_template_order(path):
    titles = [text for _, text in headings(read(path), 2)]
    assert titles[:2] == BEFORE_STEPS and titles[-4:] == AFTER_STEPS, (
        f"'##' headings must start with {BEFORE_STEPS} and end with {AFTER_STEPS}, got {titles}")
    steps = titles[2:-4]
    assert steps, "at least one numbered step '## 1. ...' between Setup and Try it"
    for expected, step in enumerate(steps, start=1):
        match = STEP_HEADING.match(step)
        assert match and int(match.group(1)) == expected, (
            f"steps are numbered '## 1. ...', '## 2. ...' in order; got {steps}")


@lesson
def test_each_section_heading_starts_a_cell(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "markdown":
            later = [line for line in markdown_lines(cell.source)[1:] if line.startswith("## ")]
            assert not later, f"cell {index}: start a new Markdown cell for {later[0]!r}"


@lesson
def test_learning_objectives_are_three_to_five_bullets(path):
    text = "\n".join(cell.source for cell in section(read(path), "Learning objectives")
                     if cell.cell_type == "markdown")
    bullets = [line for line in text.splitlines() if re.match(r"^[-*] \S", line)]
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} objectives: write 3 to 5 bullets"


@lesson
def test_setup_installs_on_colab_only_and_loads_weights_once(path):
    notebook = read(path)
    setup_code = code_cells(section(notebook, "Setup"))
    first_code = code_cells(notebook.cells)[0]
    assert setup_code and setup_code[0] is first_code, "the first code cell is under '## Setup'"
    lines = first_code.source.splitlines()
    assert lines[:len(SETUP_LINES)] == SETUP_LINES, (
        "the first code cell must start with the template:\n" + "\n".join(SETUP_LINES))
    assert any(re.match(r"^SIZE = .*\bFAST\b", line) for line in lines), (
        "the first code cell sets SIZE from FAST, e.g. `SIZE = 64 if FAST else 256`")
    assert len(setup_code) >= 2 and setup_code[1].source.startswith(WEIGHTS_LINE), (
        f"the second code cell loads the weights: `{WEIGHTS_LINE}`")
    loads = sum(cell.source.count('load_weights(weights="auto")')
                for cell in code_cells(notebook.cells))
    assert loads == 1, f'load the weights once, not {loads} times: pass `weights` around'


@lesson
def test_try_it_has_a_widget(path):
    sources = [cell.source for cell in code_cells(section(read(path), "Try it"))]
    assert any("interact" in source or "widgets" in source for source in sources), (
        "'## Try it' needs a code cell with an nst_teach.widgets widget or ipywidgets.interact")


@lesson
def test_exercises_are_stubs_checked_by_nst_checks(path):
    cells = section(read(path), "Exercises")
    sources = [cell.source for cell in code_cells(cells)]
    assert any("nst.checks." in source for source in sources), (
        "exercises are checked with nst.checks.check_...(...)")
    for source in sources:
        if re.search(r"^def ", source, re.MULTILINE):
            assert "TODO" in source, (
                "an exercise's function is a stub with a '# TODO' (committed without the "
                f"answer):\n{source}")


@lesson
def test_summary_has_bullets(path):
    text = "\n".join(cell.source for cell in section(read(path), "Summary")
                     if cell.cell_type == "markdown")
    assert re.search(r"^[-*] \S", text, re.MULTILINE), "the summary is a list of bullets"


@lesson
def test_next_links_to_the_next_lesson(path):
    text = "\n".join(cell.source for cell in section(read(path), "Next")
                     if cell.cell_type == "markdown")
    targets = re.findall(r"\]\(([^)\s]+\.ipynb)\)", text)
    number = lesson_number(path)
    is_last = number == len(LESSONS) - 1
    if is_last and not targets:
        return  # the last lesson so far: Next may announce what comes without a link
    assert targets, "'## Next' links to the next lesson, e.g. [01 Title](01_title.ipynb)"
    target = targets[0]
    assert FILE_NAME.match(target) and int(target[:2]) == number + 1, (
        f"'## Next' should link to lesson {number + 1:02d}, got {target}")
    if not is_last:
        assert (LESSONS_DIR / target).is_file(), f"'## Next' links to a missing file: {target}"


@lesson
def test_links_to_lessons_resolve(path):
    notebook = read(path)
    next_cells = {id(cell) for cell in section(notebook, "Next")}  # checked above
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown" or id(cell) in next_cells:
            continue
        for target in re.findall(r"\]\(([^)\s:]+\.ipynb)\)", cell.source):
            assert (LESSONS_DIR / target).is_file(), f"cell {index} links to a missing {target}"
