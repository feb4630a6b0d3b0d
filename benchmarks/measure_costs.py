"""Measures what `nst.stylize` costs on this machine: seconds per step and peak memory.

Writes the table that `nst.estimate_cost` reads (nst_teach/data/costs.json).
Each setting (image size x backbone x optimizer) runs in a fresh child process,
so that its peak resident memory (VmHWM, as in bench_stylize.py) is its own:

* images: square, smooth random content and style images of `size` x `size`
  pixels (the same size; the cost depends on the pixel count, not the picture);
* backbone vgg16 with the offline hed weights; vgg19 with random weights of the
  same shapes (`weights=None`: the same computation, hence the same cost, and
  no download), default loss weights and layers;
* `--steps` optimizer steps (default 15); `seconds_per_step` is the mean over
  the steps after `--warmup` (default 5), after tracing and once L-BFGS'
  memory has filled; `setup_seconds` is the time to the first loss (loading
  the weights, tracing the loss); `peak_memory_mb` is the child's VmHWM after
  the run, `import_memory_mb` its VmHWM right after `import nst_teach`.

Runs merge into the existing table, so a long measurement can be split into
short runs (the machine is shared; run each under the TensorFlow lock):

    flock /tmp/tf.lock python benchmarks/measure_costs.py --backbones vgg16 --optimizers lbfgs
    flock /tmp/tf.lock python benchmarks/measure_costs.py --backbones vgg16 --optimizers adam
    ...
    flock /tmp/tf.lock python benchmarks/measure_costs.py --check 320

`--check SIZE` measures one fresh setting that is not in the table (vgg16,
lbfgs by default) and prints it next to `nst.estimate_cost`'s prediction,
without changing the table: the honest test of the estimator (with
`--write-docs`, the comparison goes into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_TABLE = ROOT / "nst_teach" / "data" / "costs.json"
WEIGHTS_PER_BACKBONE = {"vgg16": "hed", "vgg19": None}  # None: random weights, same shapes


def peak_resident_megabytes() -> float:
    """This process's peak resident memory (VmHWM), in MB (2**20 bytes); Linux only."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def smooth_random_image(size: int, seed: int):
    """A float32 (1, size, size, 3) image in [0, 1]: random colours every 8 px, interpolated."""
    import numpy as np

    import nst_teach as nst

    coarse = np.random.default_rng(seed).uniform(0.0, 1.0, (1, size // 8 + 2, size // 8 + 2, 3))
    return nst.resize_image(coarse.astype(np.float32), (size, size))


def child(args: argparse.Namespace) -> None:
    """Measures one setting and prints one JSON line."""
    import nst_teach as nst
    from nst_teach import settings

    import_memory = peak_resident_megabytes()
    solvers = []
    make_optimizer = settings.make_optimizer

    def keep_solver(*positional, **options):  # to count L-BFGS' loss evaluations
        solver = make_optimizer(*positional, **options)
        solvers.append(solver)
        return solver

    settings.make_optimizer = keep_solver
    content = smooth_random_image(args.size, seed=1)
    style = smooth_random_image(args.size, seed=2)
    result = nst.stylize(content, style, backbone=args.backbone,
                         weights=WEIGHTS_PER_BACKBONE[args.backbone], optimizer=args.optimizer,
                         num_steps=args.steps, precision=args.precision, progress=False,
                         verbose=False)
    if result.status != "completed":
        raise RuntimeError(f"the run did not complete: {result.message}")
    times = [record["time"] for record in result.history]
    timed_steps = len(times) - 1 - args.warmup
    evaluations = getattr(solvers[0], "num_evaluations", None)
    print(json.dumps({
        "size": args.size, "height": args.size, "width": args.size,
        "pixels": args.size * args.size, "backbone": args.backbone,
        "weights": WEIGHTS_PER_BACKBONE[args.backbone] or "random",
        "optimizer": args.optimizer, "precision": result.settings["precision"],
        "steps": args.steps,
        "seconds_per_step": round((times[-1] - times[args.warmup]) / timed_steps, 4),
        "setup_seconds": round(times[0], 3),
        "peak_memory_mb": round(peak_resident_megabytes(), 1),
        "import_memory_mb": round(import_memory, 1),
        "evaluations_per_step": None if evaluations is None else round(
            evaluations / args.steps, 3),
    }))


def measure(size: int, backbone: str, optimizer: str, steps: int, warmup: int,
            precision: str = "float32") -> dict:
    """Runs `child` in a fresh process and returns its record."""
    command = [sys.executable, __file__, "--child", "--size", str(size), "--backbone", backbone,
               "--optimizer", optimizer, "--steps", str(steps), "--warmup", str(warmup),
               "--precision", precision]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{finished.stderr[-2000:]}")
    record = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"{backbone} {optimizer} {precision} {size:>4} px: {record['seconds_per_step']:.3f} s/step, "
          f"setup {record['setup_seconds']:.1f} s, peak {record['peak_memory_mb']:.0f} MB "
          f"(child ran {time.perf_counter() - started:.0f} s)", flush=True)
    return record


def machine_description() -> dict:
    """CPU, cores, memory, Python and TensorFlow versions, for the table's header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import tensorflow as tf

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1),
            "gpu": bool(tf.config.list_physical_devices("GPU")),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "platform": platform.platform()}


def merge(table_path: pathlib.Path, records: list[dict], args: argparse.Namespace) -> None:
    """Adds the records to the table (replacing the same setting) and writes it."""
    table = json.loads(table_path.read_text()) if table_path.exists() else {"measurements": []}
    key = lambda record: (record["backbone"], record["optimizer"],
                          record.get("precision", "float32"), record["size"])
    kept = {key(record): record for record in table["measurements"]}
    kept.update({key(record): record for record in records})
    table.update({
        "description": "Measured by benchmarks/measure_costs.py: nst.stylize on square smooth "
                       "random images (content and style the same size), default layers, "
                       "vgg16 with hed weights, vgg19 with random weights of the same shapes; "
                       "each setting in a fresh process; peak_memory_mb is that process's "
                       "peak resident memory (VmHWM, MB = 2**20 bytes); seconds_per_step is "
                       f"the mean over steps {args.warmup + 1}..{args.steps} (after tracing).",
        "command": "flock /tmp/tf.lock python benchmarks/measure_costs.py "
                   "--backbones B --optimizers O (merged runs)",
        "date": datetime.date.today().isoformat(),
        "machine": machine_description(),
        "measurements": sorted(kept.values(), key=key),
    })
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {len(kept)} measurements to {table_path}")


def check(args: argparse.Namespace) -> None:
    """Measures one fresh setting and prints it next to the estimator's prediction."""
    import nst_teach as nst
    from report import Report

    report = Report("measure_costs_check", script="measure_costs")
    backbone, optimizer = args.backbones[0], args.optimizers[0]
    estimate = nst.estimate_cost(args.check, backbone=backbone, optimizer=optimizer,
                                 num_steps=args.steps, precision=args.precision)
    record = measure(args.check, backbone, optimizer, args.steps, args.warmup, args.precision)
    for name, predicted, measured in (
            ("seconds per step", estimate.seconds_per_step, record["seconds_per_step"]),
            ("peak memory (MB)", estimate.peak_memory_mb, record["peak_memory_mb"])):
        report.line(f"{args.check} px, {backbone}, {optimizer}, {args.precision}: {name}: "
                    f"estimated {predicted:.3f}, measured {measured:.3f} "
                    f"({100 * (predicted - measured) / measured:+.1f} %)")
    report.write()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 384, 512, 768])
    parser.add_argument("--backbones", nargs="+", choices=("vgg16", "vgg19"),
                        default=["vgg16", "vgg19"])
    parser.add_argument("--optimizers", nargs="+", choices=("lbfgs", "adam"),
                        default=["lbfgs", "adam"])
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="the dtype of the convolutions (stylize's precision)")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_TABLE)
    parser.add_argument("--check", type=int, metavar="SIZE",
                        help="measure one size and compare with nst.estimate_cost; write nothing")
    parser.add_argument("--write-docs", action="store_true",
                        help="with --check: write the comparison into docs/benchmarks.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backbone", help=argparse.SUPPRESS)
    parser.add_argument("--optimizer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup >= args.steps:
        parser.error("--warmup must be smaller than --steps")
    if args.child:
        return child(args)
    if args.check:
        return check(args)
    records = []
    try:
        for backbone in args.backbones:
            for optimizer in args.optimizers:
                for size in args.sizes:
                    records.append(measure(size, backbone, optimizer, args.steps, args.warmup,
                                           args.precision))
    finally:
        if records:
            merge(args.output, records, args)


if __name__ == "__main__":
    main()
