"""Binder, rehearsed on this machine: every lesson and the dashboard as a Binder student runs them.

What mybinder.org gives (its deploy config, 2026-08): 2 GB of memory at most (the Jupyter
server shares it), one CPU core, and on many machines no bfloat16. This script rebuilds that:

1. a fresh clone of this checkout's HEAD;
2. the Python of `binder/runtime.txt` (from pyenv) and exactly `binder/requirements.txt` in a
   new virtual environment;
3. `binder/postBuild` as written, except its two download lines, which cannot run here:
   `fetch-weights` is replaced by a stand-in with ImageNet's layout (keras.applications'
   network with random values, saved with `save_weights`), which the notebooks load through
   `NST_TEACH_WEIGHTS_FILE`, i.e. through `keras.applications` as ImageNet's file is, without
   faking Keras' cache (whose MD5 check would refuse it); `fetch-samples` falls back to the
   generated paintings;
4. each notebook executed by `jupyter nbconvert --execute` at full size (no fast mode) with
   the Binder profile detected (`BINDER_REPO_URL` set), in float32 (`NST_TEACH_PRECISION`),
   on one core (`taskset`), inside a cgroup v1 memory group limited to 2 GB (run as root).

It prints one line per notebook: seconds, peak memory of the group (kernel and nbconvert),
whether the limit was reached (the group's failcnt: reclaim at the limit), and the result.
Targets (the Binder issue): every lesson <= 300 s and <= 1.5 GB on one core in float32.

    python benchmarks/rehearse_binder.py                    # all lessons and the dashboard
    python benchmarks/rehearse_binder.py --only 03 --keep   # one lesson, keep the folder
    python benchmarks/rehearse_binder.py --write-docs       # the table into docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from rehearsal import pyenv_python, run, work_folder  # noqa: E402
from report import Report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CGROUP = pathlib.Path("/sys/fs/cgroup/memory")
TARGET_SECONDS, TARGET_MB = 300, 1536
STAND_IN = ("import keras, sys; application = {'vgg16': keras.applications.VGG16, "
            "'vgg19': keras.applications.VGG19}[sys.argv[1]]; "
            "application(include_top=False, weights=None).save_weights(sys.argv[2])")


def runtime_python(repo: pathlib.Path) -> pathlib.Path:
    """The interpreter `binder/runtime.txt` names ("python-3.11"), from pyenv."""
    return pyenv_python((repo / "binder" / "runtime.txt").read_text().strip()
                        .removeprefix("python-"))


def build(work: pathlib.Path, backbone: str) -> tuple[pathlib.Path, dict]:
    """Clone, virtual environment, postBuild: returns the clone and the notebooks' environment."""
    repo, venv, home = work / "repo", work / "venv", work / "home"
    run(["git", "clone", "--quiet", str(ROOT), str(repo)])
    python = runtime_python(repo)
    run([str(python), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "--upgrade", "pip"])
    run([*pip, "-r", str(repo / "binder" / "requirements.txt")])
    home.mkdir()
    stand_in = home / f"imagenet_layout_{backbone}.weights.h5"
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home),
                   "VIRTUAL_ENV": str(venv), "NST_TEACH_CACHE": str(home / ".cache" / "nst"),
                   "KERAS_HOME": str(home / ".keras"), "LANG": "C.UTF-8"}
    post_build = (repo / "binder" / "postBuild").read_text()
    post_build = post_build.replace(
        "python -m nst_teach fetch-weights --backbone vgg19 vgg16",
        f"python -c \"{STAND_IN}\" {backbone} {stand_in}  # rehearsal: no download here")
    post_build = post_build.replace(
        "python -m nst_teach fetch-samples || python -m nst_teach fetch-samples  # one retry",
        "python -m nst_teach fetch-samples || true  # rehearsal: offline, generated paintings")
    script = work / "postBuild.rehearsal"
    script.write_text(post_build)
    run(["bash", str(script)], cwd=repo, env=environment)
    notebook_environment = {**environment, "BINDER_REPO_URL": "https://github.com/rehearsal",
                            "NST_TEACH_FAST": "0", "NST_TEACH_PRECISION": "float32",
                            "NST_TEACH_WEIGHTS_FILE": str(stand_in)}
    return repo, notebook_environment


def execute(notebook: pathlib.Path, out: pathlib.Path, environment: dict, memory_mb: int,
            cpus: str, timeout: int) -> dict:
    """Runs one notebook in its own memory group; returns seconds, peak MB, limit hit, result."""
    group = CGROUP / f"nst_rehearsal_{os.getpid()}_{notebook.stem}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
    command = ["taskset", "-c", cpus, "jupyter", "nbconvert", "--to", "notebook", "--execute",
               f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", str(out),
               str(notebook)]
    procs = str(group / "cgroup.procs")

    def enter_group() -> None:  # in the child, before exec: it and its kernel are counted
        with open(procs, "w") as file:
            file.write(str(os.getpid()))

    started = time.perf_counter()
    log = open(out / f"{notebook.stem}.log", "w")
    process = subprocess.Popen(command, cwd=notebook.parent, env=environment, stdout=log,
                               stderr=subprocess.STDOUT, preexec_fn=enter_group)
    try:
        code = process.wait(timeout=timeout + 120)
        result = "ok" if code == 0 else f"failed (exit {code}, see {log.name})"
    except subprocess.TimeoutExpired:
        process.kill()
        result = f"timed out after {timeout + 120} s"
    seconds = time.perf_counter() - started
    log.close()
    peak = int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
    failures = int((group / "memory.failcnt").read_text())
    oom = (group / "memory.oom_control").read_text()
    for pid in (group / "cgroup.procs").read_text().split():  # a kernel left behind
        subprocess.run(["kill", "-9", pid], check=False)
    time.sleep(1)
    group.rmdir()
    killed = "oom_kill 0" not in oom and "oom_kill" in oom
    return {"seconds": seconds, "peak_mb": peak, "limit_hit": failures > 0 or killed,
            "failcnt": failures, "result": result + (" (OOM kill)" if killed else "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="lesson number prefixes, e.g. 03 08")
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--cpus", default="0", help="taskset's CPU list (one core: 0)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--backbone", default="vgg16", help="Binder's profile backbone")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if not CGROUP.is_dir() or os.geteuid() != 0:
        raise SystemExit("needs root and cgroup v1's memory controller at /sys/fs/cgroup/memory")
    # A partial run (--only) gets a section of its own, beside the full run's table.
    report = Report("rehearse_binder" + ("_only_" + "_".join(args.only) if args.only else ""),
                    script="rehearse_binder")
    with work_folder("nst_binder_", args.keep) as work:
        repo, environment = build(work, args.backbone)
        notebooks = sorted((repo / "lessons").glob("*.ipynb")) + [
            repo / "dashboard" / "studio.ipynb"]
        if args.only:
            notebooks = [n for n in notebooks if any(n.name.startswith(p) for p in args.only)]
        out = work / "executed"
        out.mkdir()
        report.line(f"Binder rehearsal: {args.memory_mb} MB limit, CPUs {args.cpus}, float32, "
                    f"{args.backbone} stand-in weights of ImageNet's layout, full size")
        report.line(f"{'notebook':<34} {'seconds':>8} {'peak MB':>8} {'limit':>6}  result")
        rows = []
        for notebook in notebooks:
            row = execute(notebook, out, environment, args.memory_mb, args.cpus, args.timeout)
            rows.append((notebook.stem, row))
            report.line(f"{notebook.stem:<34} {row['seconds']:8.0f} {row['peak_mb']:8.0f} "
                        f"{'hit' if row['limit_hit'] else 'no':>6}  {row['result']}")
        slow = [name for name, row in rows if row["seconds"] > TARGET_SECONDS]
        large = [name for name, row in rows if row["peak_mb"] > TARGET_MB]
        report.line(f"targets <= {TARGET_SECONDS} s and <= {TARGET_MB} MB: "
                    f"over time: {', '.join(slow) or 'none'}; over memory: "
                    f"{', '.join(large) or 'none'}")
        report.write()


if __name__ == "__main__":
    main()
