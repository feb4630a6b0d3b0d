"""The instructors' material (instructors/): every solution passes the lesson's check, the
solved notebooks run end to end, and the notes answer every question and exercise."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import nst_teach as nst

ROOT = pathlib.Path(__file__).resolve().parents[1]
INSTRUCTORS = ROOT / "instructors"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(INSTRUCTORS))

import lesson_text
import make_solutions
import precompute
import solutions

# Each coding exercise: (solution, the check its lesson calls).
SOLVED_BY_CHECK = {
    "to_grayscale": nst.checks.check_grayscale,
    "resize_to_max_size": nst.checks.check_resize_to_max_size,
    "content_loss": nst.checks.check_content_loss,
    "gram_matrix": nst.checks.check_gram_matrix,
    "style_loss": nst.checks.check_style_loss,
    "total_variation_loss": nst.checks.check_total_variation_loss,
    "weighted_style_loss": nst.checks.check_weighted_style_loss,
    "total_loss": nst.checks.check_total_loss,
    "gradient_step": nst.checks.check_gradient_step,
    "adam_step": nst.checks.check_adam_step,
    "adam_loop": nst.checks.check_adam_loop,
    "two_loop": nst.checks.check_two_loop,
    "strength_to_weights": nst.checks.check_strength_to_weights,
    "match_luminance": nst.checks.check_match_luminance,
    "guided_gram_matrix": nst.checks.check_guided_gram_matrix,
    "mean_std_statistics": nst.checks.check_mean_std,
    "instance_normalization": nst.checks.check_instance_normalization,
    "upsample_nearest": nst.checks.check_upsample_nearest,
    "adain": nst.checks.check_adain,
    "adain_target": nst.checks.check_adain_target,
}


def exercise_cells(lesson):
    cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells
            if cell["cell_type"] == "code" and "TODO" in "".join(cell["source"])]


@pytest.mark.parametrize("name", sorted(SOLVED_BY_CHECK))
def test_each_solution_passes_its_check(name):
    assert SOLVED_BY_CHECK[name](getattr(solutions, name)) is True


@pytest.mark.parametrize("backbone", ["vgg16", "vgg19"])
def test_the_feature_shapes_answer_passes_its_check(backbone):
    assert nst.checks.check_feature_shapes(
        solutions.FEATURE_SHAPES_224, height=224, width=224, backbone=backbone,
        layers=list(solutions.FEATURE_SHAPES_224)) is True


def test_every_exercise_cell_of_every_lesson_has_a_solution():
    sources = make_solutions.solution_sources()
    names = []
    for lesson in LESSONS:
        for source in exercise_cells(lesson):
            assert make_solutions.solved_cell(source, sources) is not None, (lesson.name, source)
            match = re.match(r"def (\w+)\(", source)
            names += [match.group(1)] if match else []
    assert sorted(names) == sorted(SOLVED_BY_CHECK), "a coding exercise without its check here"


IMPORTS = {"np": "import numpy as np", "tf": "import tensorflow as tf", "nst": "import nst_teach as nst"}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_each_lesson_imports_what_its_solutions_use(lesson):
    """A student's solution may use np, tf and nst: the lesson imports them before."""
    sources = make_solutions.solution_sources()
    cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    for index, source in enumerate(code):
        solution = make_solutions.solved_cell(source, sources)
        for alias, statement in IMPORTS.items():
            if solution is not None and f"{alias}." in solution:
                assert any(statement in earlier for earlier in code[:index]), (
                    f"{lesson.name}: the exercise needs `{statement}` in an earlier cell")


def test_a_wrong_solution_stops_the_solved_notebook(tmp_path):
    lesson = tmp_path / "99_example.ipynb"
    cells = [{"cell_type": "code", "execution_count": None, "id": "a", "metadata": {},
              "outputs": [], "source": ["def content_loss(features, target):\n",
                                        "    # TODO: your code here\n", "    raise NotImplementedError"]},
             {"cell_type": "code", "execution_count": None, "id": "b", "metadata": {},
              "outputs": [], "source": ["nst.checks.check_content_loss(content_loss)"]}]
    lesson.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                  "nbformat_minor": 5}))
    notebook, solved = make_solutions.solve_notebook(lesson, make_solutions.solution_sources())
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert solved == 1 and "TODO" not in sources[1] and "reduce_mean" in sources[1]
    assert sources[2] == "assert nst.checks.check_content_loss(content_loss)"
    with pytest.raises(ValueError, match="no solution"):
        make_solutions.solved_cell("def mystery(x):\n    # TODO\n    pass", {})


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_the_notes_answer_every_question_and_exercise(lesson):
    notes_path = INSTRUCTORS / "answers" / f"{lesson.stem}.md"
    assert notes_path.is_file(), f"write {notes_path.relative_to(ROOT)}"
    text = notes_path.read_text(encoding="utf-8")
    notes = lesson_text.normalize(text)
    missing = [question for question in lesson_text.questions(lesson) if question not in notes]
    assert not missing, f"{notes_path.name} does not quote and answer: {missing}"
    headings = {int(n) for n in re.findall(r"^### Exercise (\d+)$", text, re.MULTILINE)}
    assert set(lesson_text.exercise_numbers(lesson)) <= headings, notes_path.name
    assert "## Teaching it live" in text, notes_path.name


def test_the_guide_times_every_lesson():
    guide = (INSTRUCTORS / "README.md").read_text(encoding="utf-8")
    times = json.loads((ROOT / "docs" / "lesson_times.json").read_text(encoding="utf-8"))
    for lesson in LESSONS:
        row = next((line for line in guide.splitlines() if f"answers/{lesson.stem}.md" in line), "")
        seconds = times["lessons"][lesson.stem]["seconds"] if "lessons" in times else None
        assert row, f"instructors/README.md has no row for {lesson.stem}"
        assert seconds is None or f"{seconds:.0f} s" in row, (row, seconds)


def test_slow_cells_are_read_from_the_timings():
    cell = {"cell_type": "code", "source": ["run()\n", "more"], "metadata": {"execution": {
        "iopub.execute_input": "2026-12-06T10:00:00.000000Z",
        "shell.execute_reply": "2026-12-06T10:00:12.500000Z"}}}
    quick = {"cell_type": "code", "source": ["1 + 1"], "metadata": {}}
    assert precompute.slow_cells({"cells": [quick, cell]}) == [(2, 12.5, "run()")]
    table = precompute.slow_cells_table({"03_content": [(2, 12.5, "run()")], "01_images": []})
    assert "| 03_content | 2 | 12 | `run()` |" in table and "| 01_images | - | - | (none) |" in table


@pytest.mark.slow
def test_the_solved_notebooks_run_end_to_end(tmp_path):
    """Every lesson with its exercises solved, in fast mode: each check asserted on the way."""
    written = make_solutions.main(tmp_path)
    assert len(written) == len(LESSONS)
    environment = {**os.environ, "NST_TEACH_FAST": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "--nbval-lax", "--nbval-current-env", "--rootdir", str(tmp_path), str(tmp_path)]
    completed = subprocess.run(command, check=False, cwd=tmp_path, env=environment,
                               capture_output=True, text=True, timeout=1800)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
