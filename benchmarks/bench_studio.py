"""Benchmark: what the Studio's live preview and loss plot cost a run.

Runs `nst.stylize` at 256 px (Grace Hopper in the "swirls" style, hed VGG16
weights, Adam, 60 steps by default) without callbacks and through a headless
`Studio` (its preview/progress/status callback and its `LossPlot`, in its
background thread), alternating the two `--repeats` times. Prints, for each:

* the step rate after the first step (the first includes tracing);
* the time spent inside the Studio's callbacks, as a share of its run;
* the overhead: how much slower the Studio's step rate is (target <= 5%).

Headless means no notebook front end: widget values are set, but no message
is sent to a browser (in a notebook that adds the sending of a ~20 kB JPEG
twice a second and a PNG every few seconds).

Usage:
    python benchmarks/bench_studio.py [--size 256] [--steps 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def step_rate(history: list) -> float:
    """Steps per second after step 1 (step 0 and 1 include tracing)."""
    steps = history[-1]["step"] - history[1]["step"]
    return steps / (history[-1]["time"] - history[1]["time"])


def timed(callback, totals: dict) -> None:
    """Wraps a callback's methods so that their time adds up in totals[name]."""
    for name in ("on_start", "on_step", "on_end"):
        method = getattr(callback, name)

        def wrapper(run, method=method):
            started = time.perf_counter()
            method(run)
            totals["seconds"] += time.perf_counter() - started

        setattr(callback, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true",
                        help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    from report import Report

    report = Report("bench_studio")

    import nst_teach as nst
    from nst_teach.widgets import Studio

    weights = nst.load_weights("vgg16", "hed")
    content = nst.sample_image("grace_hopper", max_size=args.size)
    style = nst.sample_image("swirls", max_size=args.size)
    studio = Studio(content, style, weights=weights, max_size=args.size)
    studio.optimizer.value = "adam"
    studio.steps.value = args.steps
    settings = studio.settings()
    totals = {"seconds": 0.0}
    timed(studio.monitor, totals)
    timed(studio.loss_plot, totals)

    plain_rates, studio_rates, shares = [], [], []
    for repeat in range(args.repeats):
        result = nst.stylize(content, style, weights=weights, progress=False, verbose=False,
                             **settings)
        plain_rates.append(step_rate(result.history))
        totals["seconds"] = 0.0
        draws = studio.loss_plot.draw_count
        studio.run(blocking=True)
        if studio.error is not None:
            raise studio.error
        history = studio.result.history
        studio_rates.append(step_rate(history))
        shares.append(totals["seconds"] / history[-1]["time"])
        report.line(f"repeat {repeat + 1}: without callbacks {plain_rates[-1]:.3f} steps/s, "
                    f"Studio {studio_rates[-1]:.3f} steps/s, callbacks {totals['seconds']:.2f} s "
                    f"of {history[-1]['time']:.1f} s ({studio.loss_plot.draw_count - draws} loss "
                    "plots)")

    plain, with_studio = statistics.median(plain_rates), statistics.median(studio_rates)
    report.line(f"\n{args.size} px, {args.steps} Adam steps, hed VGG16, device {nst.device_name()}, "
                f"{args.repeats} repeats (medians)")
    report.line(f"  without callbacks: {plain:.3f} steps/s")
    report.line(f"  with the Studio:   {with_studio:.3f} steps/s")
    report.line(f"  time inside the Studio's callbacks: {100 * statistics.median(shares):.1f}% "
                "of its run")
    report.line(f"  overhead (step rate): {100 * (plain / with_studio - 1):+.1f}% (target <= 5%)")
    report.write()


if __name__ == "__main__":
    main()
