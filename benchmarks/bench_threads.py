"""Benchmark: seconds per `stylize` step under TensorFlow's thread and oneDNN settings.

Issue 14's lever "cheaper evaluations": the same Adam steps (256 px, the panel's
objective) in a fresh process per setting, since TensorFlow reads them at start-up:

  default      TensorFlow's choice (intra-op and inter-op pools sized by the cores)
  intra=N      `tf.config.threading.set_intra_op_parallelism_threads(N)`
  inter=N      `tf.config.threading.set_inter_op_parallelism_threads(N)`
  onednn=0     `TF_ENABLE_ONEDNN_OPTS=0` (TensorFlow's own kernels instead of oneDNN's)
  xla          XLA auto-clustering on the CPU (`TF_XLA_FLAGS=--tf_xla_auto_jit=2
               --tf_xla_cpu_global_jit`): the step's graph compiled by XLA

in float32 and in the default precision. Seconds per step are the median over
`--steps` steps after `--warmup` (tracing excluded), each setting run `--repeats`
times in turn so that drift of the machine hits every setting alike.

Usage:
    python benchmarks/bench_threads.py [--size 256] [--steps 20] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {
    "default": ({}, {}),
    "intra=1": ({}, {"intra": 1}),
    "inter=1": ({}, {"inter": 1}),
    "intra=2 inter=1": ({}, {"intra": 2, "inter": 1}),
    "onednn=0": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    "xla": ({"TF_XLA_FLAGS": "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"}, {}),
}
CHILD = """
import json, sys, time
import tensorflow as tf
options = json.loads(sys.argv[1])
if options.get("intra"):
    tf.config.threading.set_intra_op_parallelism_threads(options["intra"])
if options.get("inter"):
    tf.config.threading.set_inter_op_parallelism_threads(options["inter"])
sys.path.insert(0, options["here"])
import nst_teach as nst
from bench_stylize import CONTENT_LAYERS, STYLE_LAYERS, WEIGHTS
content = nst.sample_image("tuebingen", max_size=options["size"])
style = nst.sample_image("starry_night", max_size=options["size"])
times = []
nst.stylize(content, style, weights=nst.load_weights("vgg16", "hed", verbose=False),
            content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS, **WEIGHTS,
            optimizer="adam", num_steps=options["warmup"] + options["steps"],
            precision=options["precision"], progress=False, verbose=False,
            callbacks=[lambda run: times.append(time.perf_counter())])
steps = [b - a for a, b in zip(times[options["warmup"]:], times[options["warmup"] + 1:])]
print(json.dumps(steps))
"""


def seconds_per_step(name: str, precision: str, args) -> float:
    """Runs the steps in a fresh process with the setting; the median seconds per step."""
    environment, threads = SETTINGS[name]
    options = {**threads, "here": HERE, "size": args.size, "steps": args.steps,
               "warmup": args.warmup, "precision": precision}
    output = subprocess.run([sys.executable, "-c", CHILD, json.dumps(options)], check=True,
                            capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **environment})
    return statistics.median(json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", default=["float32", "auto"])
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from report import Report

    report = Report("bench_threads")
    report.line(f"{args.size} px, Adam, median seconds per step over {args.steps} steps "
                f"(after {args.warmup}), best of {args.repeats} runs; {os.cpu_count()} cores")
    for precision in args.precisions:
        measured = {name: [] for name in SETTINGS}
        for _ in range(args.repeats):
            for name in SETTINGS:
                measured[name].append(seconds_per_step(name, precision, args))
        base = min(measured["default"])
        for name, values in measured.items():
            report.line(f"{precision:8s} {name:16s} {min(values):.3f} s/step "
                        f"({base / min(values):.2f}x the default's speed)")
    report.write()


if __name__ == "__main__":
    main()
