"""nst_teach.run.RunProtocol: the run protocol stylize and fast training share."""

import threading

import pytest

import numpy as np

from nst_teach.callbacks import Callback, Filmstrip, Run
from nst_teach.run import RunProtocol


class Recorder(Callback):
    def __init__(self, every=1):
        super().__init__(every)
        self.events = []

    def on_start(self, run):
        self.events.append("start")

    def on_step(self, run):
        self.events.append(run.step)

    def on_end(self, run):
        self.events.append(("end", run.status))


def make_run(num_steps=4):
    return Run(num_steps=num_steps, device="CPU", settings={}, get_image=lambda: None,
               get_best_image=lambda: None, stop_event=threading.Event())


def loop(protocol, totals, stop_at=None):
    run = protocol.run
    for total in totals:
        if protocol.stop_requested():
            protocol.finish("stopped", f"Stopped at step {run.step}.")
            return
        run.step += 1
        if not protocol.record({"total": total}):
            return
        protocol.after_step()
        if run.step == stop_at:
            run.request_stop()
    protocol.finish("completed", f"Completed {run.step} steps.")


def test_a_completed_run_calls_every_callback_in_order(capsys):
    recorder, sparse = Recorder(), Recorder(every=3)
    run = make_run()
    with RunProtocol(run, [recorder, sparse]) as protocol:
        loop(protocol, [4.0, 3.0, 2.0, 1.0])
    assert recorder.events == ["start", 1, 2, 3, 4, ("end", "completed")]
    assert sparse.events == ["start", 3, 4, ("end", "completed")]  # and at the last step
    assert [entry["total"] for entry in run.history] == [4.0, 3.0, 2.0, 1.0]
    assert all(entry["time"] >= 0 for entry in run.history)
    assert capsys.readouterr().err == ""  # a normal end says nothing


def test_a_filmstrip_keeps_the_first_every_nth_and_last_image(monkeypatch):
    filmstrip = Filmstrip(every=2)
    run = make_run(num_steps=5)
    run.get_image = lambda: np.full((1, 2, 2, 3), run.step / 10, np.float32)  # the step, seen
    with RunProtocol(run, [filmstrip]) as protocol:
        loop(protocol, [5.0, 4.0, 3.0, 2.0, 1.0])
    assert filmstrip.steps == [0, 2, 4, 5]
    assert [float(image.mean()) for image in filmstrip.images] == pytest.approx([0, 0.2, 0.4, 0.5])
    shown = []
    monkeypatch.setattr("nst_teach.images.show_images",
                        lambda images, titles, size: shown.append(titles))
    filmstrip.show(count=3)
    assert shown == [["step 0", "step 4", "step 5"]]  # evenly spread, the last included


def test_a_non_finite_loss_ends_the_run_with_advice(capsys):
    run = make_run()
    with RunProtocol(run, [Recorder()]) as protocol:
        loop(protocol, [4.0, float("nan"), 2.0])
    assert run.status == "not finite" and run.step == 2
    assert "Lower the learning rate" in run.message
    assert "nst_teach: The loss became nan at step 2" in capsys.readouterr().err


def test_stop_and_ctrl_c_keep_the_history_and_end_the_callbacks():
    recorder = Recorder()
    run = make_run(10)
    with RunProtocol(run, [recorder], verbose=False) as protocol:
        loop(protocol, [5.0] * 10, stop_at=2)
    assert run.status == "stopped" and len(run.history) == 2
    interrupted = make_run(10)
    recorder = Recorder()
    with RunProtocol(interrupted, [recorder], verbose=False) as protocol:
        interrupted.step = 1
        protocol.record({"total": 1.0})
        raise KeyboardInterrupt  # swallowed: the caller still gets its result
    assert interrupted.status == "interrupted" and interrupted.message == "Interrupted at step 1."
    assert recorder.events[-1] == ("end", "interrupted")


def test_an_error_runs_the_cleanup_and_on_end_then_propagates():
    cleaned, recorder = [], Recorder()
    run = make_run()
    with pytest.raises(RuntimeError, match="boom"):
        with RunProtocol(run, [recorder], cleanup=lambda: cleaned.append(run.status)):
            raise RuntimeError("boom")
    assert cleaned == ["failed"] and recorder.events[-1] == ("end", "failed")


def test_the_first_status_wins():
    run = make_run()
    with RunProtocol(run, [], verbose=False) as protocol:
        protocol.finish("time budget", "Used the time budget.")
        protocol.finish("completed", "Completed.")
    assert run.status == "time budget"
