"""README and docs/: every relative link resolves, the buttons are there, the lesson index
covers every lesson with a small picture, and the names the glossary gives exist in code."""

import importlib
import pathlib
import re

import pytest
from PIL import Image

from nst_teach.config import REPOSITORY

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "instructors").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
MAX_PICTURE_BYTES = 60_000


def relative_links(path: pathlib.Path) -> list[str]:
    """Link and image targets that are not web addresses or anchors, outside code blocks."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [target for target in LINK.findall(text)
            if not re.match(r"^[a-z]+:", target) and not target.startswith("#")]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_relative_links_point_to_existing_files(path):
    links = relative_links(path)
    missing = [target for target in links
               if not (path.parent / target.split("#")[0]).exists()]
    assert not missing, f"{path.name} links to missing files: {missing}"


def test_the_link_checker_sees_links():
    assert "docs/faq.md" in relative_links(ROOT / "README.md")
    assert "images/lessons/00_welcome.jpg" in relative_links(ROOT / "docs" / "lessons.md")


def test_readme_has_the_binder_colab_and_dashboard_buttons():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/lessons"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/lessons/"
    dashboard = re.search(rf"https://mybinder\.org/v2/gh/{REPOSITORY}/main\?urlpath=voila/render/"
                          r"([^)\s]+\.ipynb)", readme)
    assert f"]({binder})" in readme
    assert colab in readme
    assert dashboard, "no dashboard button (voila/render/...ipynb on Binder)"
    assert (ROOT / dashboard.group(1)).is_file(), f"the dashboard {dashboard.group(1)} is missing"


def test_lesson_index_lists_every_lesson_with_a_small_picture():
    index = (ROOT / "docs" / "lessons.md").read_text(encoding="utf-8")
    rows = [line for line in index.splitlines() if re.match(r"^\| (\[)?\d\d ", line)]
    numbers = [re.match(r"^\| \[?(\d\d)", row).group(1) for row in rows]
    lessons = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    for lesson in lessons:
        assert f"(../lessons/{lesson.name})" in index, f"docs/lessons.md lacks {lesson.name}"
    assert {lesson.name[:2] for lesson in lessons} <= set(numbers)
    for row, number in zip(rows, numbers):
        pictures = re.findall(r"!\[[^\]]+\]\((images/lessons/[^)]+\.jpg)\)", row)
        assert len(pictures) == 1, f"lesson {number}: one picture with a description"
        picture = ROOT / "docs" / pictures[0]
        assert picture.name.startswith(number + "_")
        assert picture.stat().st_size < MAX_PICTURE_BYTES, f"{picture.name} is too large"
        with Image.open(picture) as image:
            assert image.format == "JPEG"


def glossary_names() -> list[str]:
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"`(nst\.[A-Za-z_][\w.]*)(?:\(\))?`", text)))


def resolve(name: str):
    """`nst.a.b` -> the object nst_teach.a.b (importing submodules nst_teach does not import)."""
    import nst_teach

    target, path = nst_teach, "nst_teach"
    for part in name.split(".")[1:]:
        path += "." + part
        target = getattr(target, part) if hasattr(target, part) else importlib.import_module(path)
    return target


def test_glossary_names_exist_in_code():
    names = glossary_names()
    assert "nst.gram_matrix" in names and "nst.current_profile" in names
    missing = []
    for name in names:
        try:
            resolve(name)
        except ImportError:
            missing.append(name)
    assert not missing, f"the glossary names what the code does not have: {missing}"


@pytest.mark.parametrize("topic", ["memory", "slow", "choose the weights", "noisy", "colours",
                                   "download", "same result"])
def test_faq_answers_the_usual_questions(topic):
    headings = [line.lower() for line in (ROOT / "docs" / "faq.md").read_text(
        encoding="utf-8").splitlines() if line.startswith("## ")]
    assert any(topic in heading for heading in headings), f"no FAQ heading about {topic!r}"


def test_lesson_times_are_shown_where_people_read_them():
    """README's "full mode" column and each lesson's time line match docs/lesson_times.json."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from time_lessons import table_cell, time_line

    table = json.loads((ROOT / "docs" / "lesson_times.json").read_text())["lessons"]
    lessons = sorted((ROOT / "lessons").glob("*.ipynb"))
    assert sorted(table) == [path.stem for path in lessons], "time every lesson"
    readme = (ROOT / "README.md").read_text()
    for path in lessons:
        row = table[path.stem]
        assert row["seconds"] <= 300, f"{path.stem} runs over 5 minutes in full mode"
        assert "float32_seconds" in row, f"{path.stem}: time it in float32 too (--precision)"
        assert f"(lessons/{path.name}) | " in readme and f"| {table_cell(row)} |" in readme, path.stem
        title = json.loads(path.read_text())["cells"][0]["source"]
        assert "".join(title).endswith(time_line(path, row)), path.stem


def test_each_shipped_network_has_its_training_log_and_the_log_says_its_steps():
    """docs/training/<name>.log ends with the run that made the shipped file, steps and all."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from train_shipped import folder, without_startup_noise

    names = [path.name.removesuffix(".weights.h5")
             for path in sorted((ROOT / "nst_teach" / "data").glob("*/*.weights.h5"))]
    assert "adain_decoder" in names and "mosaic" in names
    for name in names:
        assert (folder(name) / f"{name}.weights.h5").is_file(), name
        log = (ROOT / "docs" / "training" / f"{name}.log").read_text()
        assert log == without_startup_noise(log), f"{name}.log holds TensorFlow's start-up lines"
        summaries = [line for line in log.splitlines() if " steps, last batch " in line]
        steps = json.loads((folder(name) / f"{name}.json").read_text())["steps"]
        assert summaries and summaries[-1].startswith(f"{steps} steps, "), (name, steps)
        assert log.startswith("$ python -m nst_teach train-"), name
