"""Tests of the command line (nst_teach.cli): `main([...])` in-process, and one real
`python -m nst_teach stylize` in a subprocess. Nothing goes to the internet: sample
downloads and the ImageNet server are replaced by failures where they would be tried."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import nst_teach
from nst_teach import backbone_weights, cli, samples
from nst_teach.cli import common as cli_common
from nst_teach.cli import doctor as cli_doctor

COMMANDS = ["stylize", "demo", "doctor", "fetch-weights", "fetch-samples", "samples",
            "train-fast", "apply-fast"]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Empty caches (samples and Keras), no ImageNet server, and no sample downloads."""
    monkeypatch.setenv("NST_TEACH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(backbone_weights, "imagenet_reachable", lambda timeout=3.0: False)

    def no_download(info, *arguments, **options):
        raise OSError("no network in the tests")

    monkeypatch.setattr(samples, "download_sample", no_download)
    return tmp_path


@pytest.fixture
def pngs(tmp_path):
    """Two small PNGs, content 48x40 (width x height) and style 32x32, and a text file."""
    rng = np.random.default_rng(0)
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(style)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    return {"content": str(content), "style": str(style), "text": str(not_an_image)}


def single_error_line(stderr):
    """Asserts stderr is exactly one `nst-teach: error: ...` line and returns it."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nst-teach: error: "), stderr
    return lines[0]


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help(command, capsys):
    assert cli.main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: nst-teach {' '.join(command)}".rstrip())
    if not command:
        assert all(name in out for name in COMMANDS)


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nst-teach {nst_teach.__version__}"


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "required: COMMAND" in single_error_line(capsys.readouterr().err)


def test_doctor(offline, capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow:" in out and tf.__version__ in out
    device_line = next(line for line in out.splitlines() if line.startswith("device:"))
    assert "CPU" in device_line or "GPU" in device_line
    for words in ["imagenet vgg16:", "not cached", "not reachable", "hed vgg16:", "installed",
                  "memory:", "GiB", "cache folder:", "fast mode:", "python:", "keras:"]:
        assert words in out
    assert str(offline / "cache") in out


def test_samples_lists_every_name(offline, capsys):
    assert cli.main(["samples"]) == 0
    out = capsys.readouterr().out
    for info in samples.list_samples():
        line = next(line for line in out.splitlines() if line.startswith(info.name + " "))
        assert info.kind in line and info.title in line and info.license in line
    assert cli.main(["samples", "--kind", "style"]) == 0
    out = capsys.readouterr().out
    assert "starry_night" in out and "grace_hopper" not in out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["swirls"].split()[2] == "yes" and "no (uses swirls)" in lines["starry_night"]
    cached = offline / "cache" / "samples" / "starry_night.jpg"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"")
    assert cli.main(["samples", "--kind", "style"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["starry_night"].split()[2] == "cached"


@pytest.mark.parametrize("arguments, exit_code, words", [
    (["{missing}", "{style}"], 1, "not found"),
    (["{text}", "{style}"], 1, "not an image file"),
    (["{content}", "starry-night"], 1, "did you mean the sample 'starry_night'"),
    (["{content}", "{style}", "--style-layers", "block1_conv1,block9_conv1"], 2,
     "Unknown layer 'block9_conv1'"),
    (["{content}", "{style}", "--steps", "-1"], 2, "--steps: must be a whole number >= 0"),
    (["{content}", "{style}", "--steps", "ten"], 2, "--steps: must be a whole number"),
    (["{content}", "{style}", "--weights", "imagenett"], 2, "did you mean 'imagenet'"),
    (["{content}", "{style}", "--weights", "hed", "--backbone", "vgg19"], 2, "only for vgg16"),
    (["{content}", "{style}", "--weights", "imagenet"], 1, "ImageNet weights for vgg19"),
])
def test_stylize_bad_input_is_one_error_line(arguments, exit_code, words, pngs, tmp_path,
                                             offline, capsys):
    paths = {**pngs, "missing": str(tmp_path / "missing.png")}
    output = tmp_path / "out.png"
    argv = ["stylize", *(argument.format(**paths) for argument in arguments), "-o", str(output)]
    assert cli.main(argv) == exit_code
    assert words in single_error_line(capsys.readouterr().err)
    assert not output.exists()


def test_output_must_be_an_image_file_name(pngs, tmp_path, capsys):
    argv = ["stylize", pngs["content"], pngs["style"], "-o", str(tmp_path / "out.gif")]
    assert cli.main(argv) == 2
    assert ".png, .jpg or .jpeg" in single_error_line(capsys.readouterr().err)


def test_debug_raises_the_error(pngs, tmp_path):
    missing = str(tmp_path / "missing.png")
    for argv in (["--debug", "stylize", missing, pngs["style"], "-o", "out.png"],
                 ["stylize", missing, pngs["style"], "-o", "out.png", "--debug"]):
        with pytest.raises(FileNotFoundError):
            cli.main(argv)


def test_stylize_writes_image_and_history(pngs, tmp_path, offline, capsys):
    output, history = tmp_path / "result" / "out.png", tmp_path / "history.json"
    argv = ["stylize", pngs["content"], "swirls", "-o", str(output), "--steps", "2",
            "--weights", "hed", "--size", "32", "--style-layers", "block1_conv1,block2_conv1",
            "--content-layers", "block2_conv2", "--history", str(history), "--quiet"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    path_line, summary = captured.out.strip().splitlines()
    assert path_line == str(output.resolve())
    assert summary.startswith("2 steps, final total loss ")
    assert "on CPU" in summary or "on GPU" in summary
    assert "weights hed (vgg16), completed" in summary
    with Image.open(output) as image:
        assert image.size == (32, 27)  # 48x40 shrunk to a longer side of 32
    record = json.loads(history.read_text())
    assert [entry["step"] for entry in record["history"]] == [0, 1, 2]
    assert all(np.isfinite(entry["total"]) for entry in record["history"])
    assert record["settings"]["weights"] == "hed"
    assert record["settings"]["style_layers"] == {"block1_conv1": 0.5, "block2_conv1": 0.5}
    assert record["status"] == "completed" and record["output"] == str(output)


def test_json_safe_makes_strict_json():
    value = cli_common._json_safe({"size": (3, 4), "total": float("nan"), "n": np.int64(2),
                            "x": np.float32(0.5), "a": np.zeros(2),
                            "path": pathlib.PurePosixPath("a/b")})
    assert json.loads(json.dumps(value, allow_nan=False)) == {
        "size": [3, 4], "total": None, "n": 2, "x": 0.5, "a": [0.0, 0.0], "path": "a/b"}


def test_demo_in_fast_mode(offline, monkeypatch, capsys):
    monkeypatch.setenv("NST_TEACH_FAST", "1")
    monkeypatch.chdir(offline)
    assert cli.main(["demo"]) == 0
    captured = capsys.readouterr()
    output = offline / cli_common.DEMO_OUTPUT
    assert captured.out.splitlines()[0] == str(output.resolve())
    assert f"{cli_common.FAST_STEPS} steps" in captured.out
    notices = [line for line in captured.err.splitlines() if "offline sample" in line]
    assert len(notices) == 2 and "SampleFallbackWarning" not in captured.err
    with Image.open(output) as image:
        assert max(image.size) == cli_common.FAST_SIZE


def test_fetch_weights_offline_fails_with_one_line(offline, capsys):
    assert cli.main(["fetch-weights"]) == 1
    captured = capsys.readouterr()
    line = single_error_line(captured.err)
    assert "imagenet vgg16, imagenet vgg19" in line and "--weights hed" in line
    assert "imagenet vgg16: failed" in captured.out
    assert "imagenet vgg19: failed" in captured.out
    assert "hed vgg16: installed" in captured.out


def test_fetch_samples(offline, capsys):
    assert cli.main(["fetch-samples", "swirls"]) == 0
    assert capsys.readouterr().out.split() == ["swirls:", "offline"]
    assert cli.main(["fetch-samples", "swirls", "tuebingen"]) == 1
    captured = capsys.readouterr()
    assert "tuebingen: failed: no network in the tests" in captured.out
    assert "1 of 2 samples" in single_error_line(captured.err)
    assert cli.main(["fetch-samples", "starry_nite"]) == 2
    assert "Did you mean 'starry_night'" in single_error_line(capsys.readouterr().err)


def test_python_m_nst_teach_stylize(pngs, tmp_path):
    output = tmp_path / "out.png"
    env = {**os.environ, "NST_TEACH_CACHE": str(tmp_path / "cache"),
           "KERAS_HOME": str(tmp_path / "keras_home")}
    completed = subprocess.run(
        [sys.executable, "-m", "nst_teach", "stylize", pngs["content"], pngs["style"],
         "-o", str(output), "--steps", "3", "--weights", "hed"],
        capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    path_line, summary = completed.stdout.strip().splitlines()[-2:]
    assert path_line == str(output.resolve())
    assert summary.startswith("3 steps, final total loss ")
    with Image.open(output) as image:
        image.load()
        assert image.size == (48, 40) and image.mode == "RGB"


def test_memory_without_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # makes `import psutil` fail
    description = cli_doctor._describe_memory()
    if os.path.exists("/proc/meminfo"):
        assert description.startswith("total ") and "available " in description
    else:
        assert description.startswith("unknown")


@pytest.mark.parametrize("status, exit_code", [("not finite", 1), ("interrupted", 130)])
def test_unfinished_runs_still_save_the_best_image(status, exit_code, pngs, tmp_path,
                                                   monkeypatch, capsys):
    def fake_stylize(content, style, **options):
        history = [{"step": 0, "total": 1.0}, {"step": 1, "total": float("nan")}]
        return nst_teach.StyleTransferResult(
            image=content, history=history, status=status, message=f"The run ended: {status}.",
            device="CPU", settings={"weights": "hed", "backbone": "vgg16"}, best_step=0)

    monkeypatch.setattr(nst_teach, "stylize", fake_stylize)
    output, history = tmp_path / "out.png", tmp_path / "history.json"
    argv = ["stylize", pngs["content"], pngs["style"], "-o", str(output),
            "--history", str(history), "-q"]
    assert cli.main(argv) == exit_code
    captured = capsys.readouterr()
    assert output.exists() and "best step 0), " in captured.out
    assert json.loads(history.read_text())["history"][1]["total"] is None  # NaN -> null
    if status == "not finite":
        assert single_error_line(captured.err).endswith("The run ended: not finite.")
    else:
        assert captured.err == ""


def test_ctrl_c_is_one_line(pngs, tmp_path, monkeypatch, capsys):
    def interrupted(*arguments, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(nst_teach, "load_image", interrupted)
    argv = ["stylize", pngs["content"], pngs["style"], "-o", str(tmp_path / "out.png")]
    assert cli.main(argv) == 130
    assert single_error_line(capsys.readouterr().err) == "nst-teach: error: interrupted"


# ----------------------------------------------------------------------------
# Profiles, the memory warning, and carrying the caches to an offline classroom.


@pytest.fixture
def fresh_profile(monkeypatch):
    """No profile chosen yet; restores the process-wide choice after the test."""
    from nst_teach import profiles

    monkeypatch.setattr(profiles, "_STATE", {"chosen": None, "announced": None})
    monkeypatch.delenv(profiles.PROFILE_VARIABLE, raising=False)
    return profiles


def test_stylize_takes_size_from_the_profile_and_warns_about_memory(pngs, tmp_path, offline,
                                                                    fresh_profile, capsys):
    nst_teach.use_profile("local", image_size=32, max_image_size=64, memory_budget_mb=1)
    capsys.readouterr()
    output = tmp_path / "out.png"
    argv = ["stylize", pngs["content"], pngs["style"], "-o", str(output), "--steps", "1",
            "--weights", "hed", "--style-layers", "block1_conv1", "--content-layers",
            "block1_conv2"]
    assert cli.main(argv) == 0
    with Image.open(output) as image:
        assert image.size == (32, 27)  # the profile's 32 px, not 256
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith("nst-teach: warning: 27 x 32 px")
    assert "more than the budget" in warning[0]
    assert cli.main([*argv, "-q"]) == 0
    assert "warning" not in capsys.readouterr().err  # --quiet hides it


def test_doctor_names_the_profile(offline, fresh_profile, monkeypatch, capsys):
    monkeypatch.setenv(fresh_profile.PROFILE_VARIABLE, "binder")
    assert cli.main(["doctor"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("profile:"))
    assert "'binder'" in line and "256 px" in line


def test_fetch_weights_to_and_from_a_classroom_folder(offline, monkeypatch, capsys):
    """--to copies the cached weights into a folder; --from fills another machine's cache."""
    def fake_load_weights(backbone=None, weights="auto", **options):
        if weights == "imagenet" and not backbone_weights.imagenet_cache_path(backbone).is_file():
            raise RuntimeError("no network in the tests")

    monkeypatch.setattr(nst_teach, "load_weights", fake_load_weights)
    stick = offline / "usb"
    cached = backbone_weights.imagenet_cache_path("vgg16")  # machine A has downloaded it
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights of vgg16")
    assert cli.main(["fetch-weights", "--backbone", "vgg16", "--to", str(stick)]) == 0
    assert "copied 1 file(s)" in capsys.readouterr().out
    copied = stick / cli_common.KERAS_FOLDER / cached.name
    assert copied.read_bytes() == b"weights of vgg16"

    monkeypatch.setenv("KERAS_HOME", str(offline / "machine_b"))  # machine B: empty cache
    assert cli.main(["fetch-weights", "--backbone", "vgg16"]) == 1
    capsys.readouterr()
    assert cli.main(["fetch-weights", "--backbone", "vgg16", "--from", str(stick)]) == 0
    assert "imagenet vgg16: cached" in capsys.readouterr().out
    assert backbone_weights.imagenet_cache_path("vgg16").read_bytes() == b"weights of vgg16"


def test_fetch_samples_to_and_from_a_classroom_folder(offline, monkeypatch, capsys):
    stick = offline / "usb"
    assert cli.main(["fetch-samples", "swirls", "--to", str(stick)]) == 0
    exported = sorted((stick / cli_common.SAMPLES_FOLDER).iterdir())
    assert [path.name for path in exported] == [path.name for path in sorted(
        (offline / "cache" / "samples").iterdir())] and exported
    monkeypatch.setenv("NST_TEACH_CACHE", str(offline / "machine_b"))
    assert cli.main(["fetch-samples", "swirls", "--from", str(stick)]) == 0
    assert "copied" in capsys.readouterr().out
    for path in exported:
        assert (offline / "machine_b" / "samples" / path.name).read_bytes() == path.read_bytes()
    assert cli.main(["fetch-samples", "--from", str(offline / "nowhere")]) == 1
    assert "make it with --to" in single_error_line(capsys.readouterr().err)


# --- the controls of lessons 09 and 10 --------------------------------------------------------

@pytest.fixture
def mask_png(tmp_path):
    """A white left half on black, 24x20 (width x height): another size than the content."""
    path = tmp_path / "mask.png"
    pixels = np.zeros((20, 24), np.uint8)
    pixels[:, :12] = 255
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.mark.parametrize("extra", [
    ["--style-statistic", "mean_std", "--pooling", "average", "--preserve-colors",
     "color_matching", "--color-matching-method", "histogram", "--style-scale", "1.5"],
    ["--preserve-colors", "luminance", "--recompute"],
], ids=["statistic-pooling-matching-scale", "luminance-recompute"])
def test_stylize_with_controls(extra, pngs, mask_png, tmp_path, offline, capsys):
    output, history = tmp_path / "out.png", tmp_path / "history.json"
    argv = ["stylize", pngs["content"], pngs["style"], "swirls", "-o", str(output),
            "--weights", "hed", "--sizes", "24", "32", "--steps", "1",
            "--style-blend-weights", "1", "3", "--style-mask", mask_png, "none",
            "--history", str(history), "--quiet", *extra]
    assert cli.main(argv) == 0, capsys.readouterr().err
    with Image.open(output) as image:
        assert image.size == (32, 27)  # the last stage: 48x40 with a longer side of 32
    record = json.loads(history.read_text())
    assert [entry["size"] for entry in record["history"]] == [[20, 24]] * 2 + [[27, 32]] * 2
    settings = record["settings"]
    assert settings["sizes"] == [24, 32] and settings["num_steps"] == [1, 1]
    assert settings["num_styles"] == 2 and settings["style_blend_weights"] == [0.25, 0.75]
    assert settings["style_masks"] is True
    options = dict(zip(extra[::2], extra[1::2]))
    assert settings["style_statistic"] == options.get("--style-statistic", "gram")
    assert settings["pooling"] == options.get("--pooling", "max")
    assert settings["preserve_colors"] == options["--preserve-colors"]
    assert settings["style_scale"] == float(options.get("--style-scale", 1.0))
    assert settings["recompute"] == ("--recompute" in extra)


@pytest.mark.parametrize("arguments, exit_code, words", [
    (["--style-blend-weights", "1", "2"], 2, "--style-blend-weights got 2 values for 1 STYLE"),
    (["--style-blend-weights", "0"], 2, "--style-blend-weights are all 0"),
    (["--style-mask", "none", "none"], 2, "--style-mask got 2 values for 1 STYLE"),
    (["--style-mask", "{missing}"], 1, "not found"),
    (["--size", "32", "--sizes", "16", "32"], 2, "give --size or --sizes, not both"),
    (["--sizes", "32", "24"], 1, "sizes must increase from coarse to fine"),
    (["--sizes", "32", "0"], 2, "--sizes: must be a whole number > 0"),
    (["--style-scale", "0"], 2, "--style-scale: must be a number > 0"),
    (["--style-statistic", "gramm"], 2, "invalid choice: 'gramm'"),
    (["--preserve-colors", "yes"], 2, "invalid choice: 'yes'"),
])
def test_stylize_bad_controls_are_one_error_line(arguments, exit_code, words, pngs, tmp_path,
                                                 offline, capsys):
    paths = {"missing": str(tmp_path / "missing.png")}
    output = tmp_path / "out.png"
    argv = ["stylize", pngs["content"], pngs["style"], "-o", str(output), "--weights", "hed",
            "--steps", "1", *(argument.format(**paths) for argument in arguments)]
    assert cli.main(argv) == exit_code
    assert words in single_error_line(capsys.readouterr().err)
    assert not output.exists()
