"""Trains the feed-forward networks that nst_teach ships, one per built-in style.

Each network is trained with the ``train-fast`` command (the shared run loop:
progress, checkpoints, Stop, time budget) on the offline photos (the training
split of `nst_teach.photo_library` plus generated scenes; the held-out photos
are never seen) and saved as ``nst_teach/data/networks/<style>.keras``, which is
then converted to what ships: ``<style>.weights.h5`` (weights only, readable by
any Keras 3, where a ``.keras`` file saved by a newer Keras may not load in
Colab's older one) and ``<style>.json`` (the architecture, command, steps). The
command and its output go to ``docs/training/<style>.log``.

A painting that cannot be downloaded here is trained from its offline stand-in
only if you pass ``--allow-fallback``: by default such a style is skipped, so
that a network is never shipped under the name of a painting it never saw.

``adain_decoder`` as a style trains AdaIN's decoder instead (``train-adain``, saved
in ``nst_teach/data/adain/`` with its ``.json`` beside it).

Usage:
    python benchmarks/train_shipped.py [STYLE ...] [--minutes 8 | --steps N] [--weights hed]
    python benchmarks/train_shipped.py adain_decoder --minutes 30 --precision bfloat16 \
        --learning-rate 2e-4
    python benchmarks/train_shipped.py --convert-only STYLE ...   # .keras -> .weights.h5
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "nst_teach" / "data" / "networks"
ADAIN = ROOT / "nst_teach" / "data" / "adain"
LOGS = ROOT / "docs" / "training"


def folder(style: str) -> pathlib.Path:
    """Where a style's network ships: ``data/networks``, or ``data/adain`` for the decoder."""
    return ADAIN if style == "adain_decoder" else NETWORKS


def _painting_available(style: str) -> bool:
    from nst_teach import samples

    info = samples.sample_info(style)
    return info.url is None or samples.is_available_offline(style)


def without_startup_noise(text: str) -> str:
    """The text without TensorFlow's start-up lines (oneDNN, CUDA), which say nothing of training."""
    noise = ("WARNING: All log messages before absl::InitializeLog()", "I0000 00:00:")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(noise))


def train_one(style: str, minutes: float | None, weights: str, extra: list[str]) -> int:
    """Runs train-fast (or train-adain) for one style, logging the command and its output.

    A run whose checkpoint folder already holds checkpoints resumes from them; with
    ``--steps N`` (in `extra`) it trains until the network has N steps in all.
    """
    output = folder(style) / f"{style}.keras"
    adain = style == "adain_decoder"
    command = [sys.executable, "-m", "nst_teach", *(["train-adain"] if adain else ["train-fast", style]), "-o", str(output),
               *(["--minutes", f"{minutes:g}"] if minutes is not None else []),
               "--weights", weights, "--quiet",
               "--checkpoint-dir", str(pathlib.Path(os.environ.get("TMPDIR", "/tmp"))
                                       / f"nst_teach_train_{style}"), *extra]
    shown = " ".join(shlex.quote(part) for part in command[1:]).replace(str(ROOT) + "/", "")
    LOGS.mkdir(parents=True, exist_ok=True)
    resumed = (pathlib.Path(command[command.index("--checkpoint-dir") + 1]) / "checkpoint").is_file()
    started = time.time()
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    log = (f"$ python {shown}\n# started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}"
           f", {time.time() - started:.0f} s, exit code {result.returncode}\n"
           + result.stdout + without_startup_noise(result.stderr))
    log_path = LOGS / f"{style}.log"
    if resumed and log_path.is_file():  # a run resumed from its checkpoints adds to its log
        log = without_startup_noise(log_path.read_text()) + "\n" + log
    log_path.write_text(log)
    print(log, flush=True)
    if result.returncode == 0:
        if not adain:
            write_info(style)
        convert(style)
    return result.returncode


def convert(style: str) -> pathlib.Path:
    """Replaces ``<style>.keras`` by ``<style>.weights.h5``, the architecture going to the json.

    Checks that the rebuilt network gives the same pictures as the saved one.
    """
    import keras
    import numpy as np

    from nst_teach import transformer
    from nst_teach.adain import decoder as adain_decoder

    source = folder(style) / f"{style}.keras"
    model = keras.saving.load_model(source, compile=False)
    info_path = folder(style) / f"{style}.json"
    info = json.loads(info_path.read_text())
    if style == "adain_decoder":
        rebuilt = adain_decoder.build_decoder(info["width"])
        probe = np.random.default_rng(0).random((1, 8, 8, 256), dtype=np.float32)
    else:
        info["architecture"] = transformer.architecture(model)
        rebuilt = transformer.build_transformer(**info["architecture"])
        probe = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    target = folder(style) / f"{style}.weights.h5"
    model.save_weights(target)
    rebuilt.load_weights(target)
    difference = float(np.max(np.abs(np.asarray(model(probe)) - np.asarray(rebuilt(probe)))))
    if difference > 1e-5:
        target.unlink()
        raise RuntimeError(f"{style}: the rebuilt network differs from the saved one "
                           f"by {difference:.2e}; nothing converted.")
    info_path.write_text(json.dumps(info, indent=1) + "\n")
    source.unlink()
    print(f"{style}: {target.name} ({target.stat().st_size / 1e6:.1f} MB), same output", flush=True)
    return target


def write_info(style: str) -> dict:
    """Writes ``<style>.json`` beside the network: command, steps, time, from its log.

    A log of several runs (each resumed from the last one's checkpoints) gives the last
    run's command and step count and the seconds of all runs.
    """
    lines = (LOGS / f"{style}.log").read_text().splitlines()
    summaries = [line for line in lines if " steps, last batch loss " in line]
    steps = summaries[-1].split(" steps, ", 1)[0]
    seconds = sum(float(line.split(" s on ")[0].rsplit(", ", 1)[1]) for line in summaries)
    commands = [line for line in lines if line.startswith("$ python ")]
    started = [line for line in lines if line.startswith("# started ")]
    info = {"style": style, "command": commands[-1][2:], "trained": started[-1].split(", ")[0][10:],
            "runs": len(summaries), "steps": int(steps), "seconds": round(seconds),
            "summary": summaries[-1],
            "photos": "offline (training split of nst_teach.photo_library + generated scenes)",
            "log": f"docs/training/{style}.log"}
    path = NETWORKS / f"{style}.json"
    if path.is_file() and "architecture" in json.loads(path.read_text()):
        info["architecture"] = json.loads(path.read_text())["architecture"]
    (NETWORKS / f"{style}.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main() -> int:
    from nst_teach import samples

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("styles", nargs="*", default=samples.sample_names("style"))
    parser.add_argument("--minutes", type=float, default=None,
                        help="time budget per network (else --steps N, passed to train-fast)")
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--allow-fallback", action="store_true")
    parser.add_argument("--info-only", action="store_true",
                        help="only write each network's .json from its log")
    parser.add_argument("--convert-only", action="store_true",
                        help="only convert each <style>.keras to <style>.weights.h5")
    args, extra = parser.parse_known_args()
    if args.convert_only:
        for style in args.styles:
            convert(style)
        return 0
    if args.info_only:
        for style in args.styles:
            if (LOGS / f"{style}.log").is_file():
                print(write_info(style))
        return 0
    failures = 0
    for style in args.styles:
        if style != "adain_decoder" and not args.allow_fallback and not _painting_available(style):
            print(f"skipped {style}: the painting is not available here (no download)",
                  flush=True)
            continue
        failures += train_one(style, args.minutes, args.weights, extra) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
