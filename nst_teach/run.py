"""The run protocol shared by `stylize` and fast training: written once.

Both loops do the same things around their steps: tell the callbacks a run
starts, record each step's losses with its time, stop when the loss stops
being finite, when a Stop was asked for (`run.stop_event`) or on Ctrl-C, call
the callbacks that are due, and always tell them the run ended, with a status
and a sentence saying how. `RunProtocol` holds that; each loop only says what a
step is.

    with RunProtocol(run, callbacks, verbose=True) as protocol:
        while not protocol.stop_requested():
            losses = step()
            if not protocol.record(losses):   # False once the loss is not finite
                break
            protocol.after_step()
        protocol.finish("completed", "Completed 10 steps.")
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nst_teach.callbacks import Callback, Run


class RunProtocol:
    """Status, Stop, Ctrl-C, non-finite losses and callbacks around a loop's steps.

    Args:
        run: The `Run` callbacks see; its `step` is set by the loop.
        callbacks: `Callback` objects (see `callbacks.as_callbacks`).
        verbose: Print the closing sentence to stderr when the status is not
            one of `quiet_statuses`.
        quiet_statuses: Statuses that need no sentence (a normal end).
        cleanup: Called once when the loop ends, however it ends, before the
            callbacks' `on_end` (fast training saves its checkpoint here).
    """

    def __init__(self, run: Run, callbacks: Sequence[Callback], *, verbose: bool = True,
                 quiet_statuses: Sequence[str] = ("completed",),
                 cleanup: Callable[[], None] | None = None):
        self.run = run
        self.callbacks = list(callbacks)
        self.verbose = verbose
        self.quiet_statuses = tuple(quiet_statuses)
        self.cleanup = cleanup

    def __enter__(self) -> RunProtocol:
        for callback in self.callbacks:
            callback.on_start(self.run)
        self.run.started = time.perf_counter()
        self.run.status = "running"
        return self

    def stop_requested(self) -> bool:
        """True once someone asked the run to stop (`run.request_stop`, a widget's Stop)."""
        return self.run.stop_event.is_set()

    def record(self, losses: Mapping[str, Any], **extra: Any) -> bool:
        """Appends the step's losses (as floats) to the history; False if not finite.

        A non-finite total also sets the status `"not finite"` and its advice.
        """
        values = {name: float(value) for name, value in losses.items()}
        self.run.history.append({"step": self.run.step, "time": self.run.elapsed, **extra,
                                 **values})
        if np.isfinite(values["total"]):
            return True
        self.finish("not finite", f"The loss became {values['total']} at step {self.run.step}. "
                    "Lower the learning rate or the loss weights.")
        return False

    def after_step(self) -> None:
        """Calls the callbacks that are due at this step (and every one at the last)."""
        for callback in self.callbacks:
            if self.run.step % callback.every == 0 or self.run.step == self.run.num_steps:
                callback.on_step(self.run)

    def finish(self, status: str, message: str) -> None:
        """Sets how the run ended; the first status set wins."""
        if self.run.status == "running":
            self.run.status, self.run.message = status, message

    def __exit__(self, error_type, error, traceback) -> bool:
        interrupted = error_type is not None and issubclass(error_type, KeyboardInterrupt)
        if interrupted or (error_type is None and self.run.status == "running"):
            self.run.status, self.run.message = ("interrupted",
                                                 f"Interrupted at step {self.run.step}.")
        elif error_type is not None:  # the error itself will say what happened
            self.run.status, self.run.message = "failed", f"{error_type.__name__}: {error}"
        try:
            if self.cleanup is not None:
                self.cleanup()
        finally:
            for callback in self.callbacks:
                callback.on_end(self.run)
        if self.verbose and self.run.status not in (*self.quiet_statuses, "failed"):
            print(f"nst_teach: {self.run.message}", file=sys.stderr)
        return interrupted  # a Ctrl-C ends the run, not the program: the result is returned
