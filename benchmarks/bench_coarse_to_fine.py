"""Benchmark: a 1024 px output through coarse to fine, its peak memory and its time.

Target (issue 5): peak resident memory under 2 GB on CPU for a 1024 px output.

Every configuration runs `nst.stylize(..., sizes=SIZES, num_steps=STEPS)` in a
fresh child process (so that one run's memory does not hide another's) and
prints:
  * the peak resident memory of that process (VmHWM, which includes TensorFlow
    itself, the weights, the images and the optimizer's memory);
  * the time of each stage (tracing included) and in total;
  * the total loss at the start and end of the last stage.

Objective: hed VGG16 weights, their default loss weights (style 1, content 1e4,
TV 1), the default layers, the default optimizer (or `--optimizer`), style_scale
1, starting from the content image, `--precision` (default auto: bfloat16 on a
CPU with native bfloat16). Configurations: without and with recomputation
(`recompute=True`, gradient checkpointing, which recomputes each VGG block's inner activations during
the backward pass instead of keeping them; the style terms are computed inside
the blocks, so no full-resolution activation is kept between blocks).
`--system-allocator` runs the children with TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1
(oneDNN's memory pool replaced by malloc, which returns freed memory).

Usage:
    python benchmarks/bench_coarse_to_fine.py [--content PATH|SAMPLE] [--style PATH|SAMPLE]
        [--sizes 256 512 1024] [--steps 20 10 10] [--recompute both|on|off]
        [--system-allocator] [--optimizer adam|lbfgs] [--precision auto|float32|bfloat16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stylize import peak_resident_megabytes

TARGET_MB = 2048


def load(source: str, size: int):
    import nst_teach as nst

    if os.path.exists(source):
        return nst.load_image(source, max_size=size)
    return nst.sample_image(source, max_size=size)


def child(args) -> None:
    """One run in this process; prints its figures as one JSON line."""
    import nst_teach as nst

    if args.strip_rows is not None:
        nst.features.STRIP_ROWS = args.strip_rows
    largest = max(args.sizes)
    content, style = load(args.content, largest), load(args.style, largest)
    started = time.perf_counter()
    result = nst.stylize(content, style, weights="hed", sizes=args.sizes, num_steps=args.steps,
                         optimizer=args.optimizer, precision=args.precision,
                         recompute=args.recompute == "on", progress=False, verbose=False)
    seconds = time.perf_counter() - started
    stage_ends = {}
    for record in result.history:
        stage_ends[max(record["size"])] = record["time"]
    stage_seconds, previous = [], 0.0
    for size in args.sizes:
        stage_seconds.append(stage_ends[size] - previous)
        previous = stage_ends[size]
    last = [record["total"] for record in result.history if max(record["size"]) == largest]
    print(json.dumps({"peak_rss_mb": peak_resident_megabytes(), "seconds": seconds,
                      "stage_seconds": stage_seconds, "status": result.status,
                      "shape": list(result.image.shape), "first_total": last[0],
                      "final_total": result.losses["total"],
                      "precision": result.settings["precision"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    images = "/work/shared/images"
    parser.add_argument("--content", default=os.path.join(images, "tubingen.jpg")
                        if os.path.exists(os.path.join(images, "tubingen.jpg")) else "tuebingen")
    parser.add_argument("--style", default=os.path.join(images, "starry_night.jpg")
                        if os.path.exists(os.path.join(images, "starry_night.jpg"))
                        else "starry_night")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 10, 10],
                        help="L-BFGS steps per stage (one number, or one per stage)")
    parser.add_argument("--recompute", choices=("both", "on", "off"), default="both")
    parser.add_argument("--strip-rows", type=int, default=None,
                        help="rows per strip with --recompute (default: features.STRIP_ROWS)")
    parser.add_argument("--system-allocator", action="store_true",
                        help="set TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1 in the runs")
    parser.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    if len(args.steps) == 1:
        args.steps = args.steps * len(args.sizes)
    if args.child:
        return child(args)

    from report import Report

    suffix = "" if args.precision == "auto" else f"_{args.precision}"
    report = Report(f"bench_coarse_to_fine{suffix}", script="bench_coarse_to_fine")
    report.line(f"content {args.content}, style {args.style}, sizes {args.sizes}, "
                f"{args.optimizer} steps per stage {args.steps}, hed VGG16, CPU, "
                f"precision {args.precision}"
                + (", TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1" if args.system_allocator else "")
                + (f", strips of {args.strip_rows} rows" if args.strip_rows else ""))
    for recompute in (("off", "on") if args.recompute == "both" else (args.recompute,)):
        command = [sys.executable, os.path.abspath(__file__), "--child", "--content",
                   args.content, "--style", args.style, "--recompute", recompute,
                   "--sizes", *map(str, args.sizes), "--steps", *map(str, args.steps),
                   "--optimizer", args.optimizer, "--precision", args.precision,
                   *(["--strip-rows", str(args.strip_rows)] if args.strip_rows else [])]
        env = {**os.environ, **({"TF_ONEDNN_USE_SYSTEM_ALLOCATOR": "1"}
                                if args.system_allocator else {})}
        completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if completed.returncode != 0:
            report.line(f"recompute {recompute}: the run failed (exit {completed.returncode}): "
                        f"{completed.stderr.strip().splitlines()[-1:]}")
            continue
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
        stages = ", ".join(f"{size} px {seconds:.0f} s"
                           for size, seconds in zip(args.sizes, figures["stage_seconds"]))
        verdict = "under" if figures["peak_rss_mb"] < TARGET_MB else "OVER"
        report.line(f"recompute {recompute}: peak resident memory {figures['peak_rss_mb']:.0f} MB "
                    f"({verdict} the {TARGET_MB} MB target); output {figures['shape'][1]}x"
                    f"{figures['shape'][2]}; time {figures['seconds']:.0f} s ({stages}); "
                    f"last stage total loss {figures['first_total']:.4g} -> "
                    f"{figures['final_total']:.4g}; {figures['status']}; {figures['precision']}")
    report.write()


if __name__ == "__main__":
    main()
