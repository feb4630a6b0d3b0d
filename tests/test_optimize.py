"""stylize: the optimizers lower the loss, a default run really moves the style
statistics, the history and result contracts, stopping, interrupting, non-finite
losses, the initial images, errors, the device and reusing loaded weights.

Every run uses the offline hed weights on images of at most 48 px (96 px for the
one default-settings run), without a progress bar unless the bar is under test.
"""

import threading

import numpy as np
import pytest
import tensorflow as tf

import nst_teach as nst
import nst_teach.backbone_weights

STYLE_LAYERS = list(nst.DEFAULT_STYLE_LAYERS)
CONTENT_LAYERS = list(nst.DEFAULT_CONTENT_LAYERS)
HEIGHT, WIDTH = 32, 40  # not square, so that a height/width swap shows


@pytest.fixture
def content(tiny_image):
    return tiny_image(HEIGHT, WIDTH, seed=0)


@pytest.fixture
def style(tiny_image):
    return tiny_image(44, 36, seed=1)  # another size and aspect than the content


def run(content, style, weights, **options):
    return nst.stylize(content, style, **{"weights": weights, "progress": False,
                                          "verbose": False, **options})


def totals(result):
    return np.array([record["total"] for record in result.history])


class Recorder(nst.Callback):
    """Records the calls it gets, and the image at every step it sees."""

    def __init__(self, every=1, raise_at=None, stop_at=None):
        super().__init__(every)
        self.events, self.images = [], {}
        self.raise_at, self.stop_at = raise_at, stop_at

    def on_start(self, run):
        self.events.append(("start", run.step, len(run.history)))
        self.images[0] = run.image()

    def on_step(self, run):
        self.events.append(("step", run.step, run.latest["step"]))
        self.images[run.step] = run.image()
        if run.step == self.stop_at:
            run.request_stop()
        if run.step == self.raise_at:
            raise KeyboardInterrupt

    def on_end(self, run):
        self.events.append(("end", run.status, len(run.history)))


# --- the optimizers lower the loss ----------------------------------------------------

# SGD: at 32x40 px the hed gradient has entries of ~1e5 (the Gram matrices are averaged
# over the H*W positions, so per-pixel gradients grow as the image shrinks, and hed's
# activations are large). The default 1e-5 (meant for larger images) then moves pixels
# by up to ~1 per step: it overshoots and the loss rises. 3e-7 moves the largest pixel
# by ~0.03 per step, a small step for an image in [0, 1].
LEARNING_RATES = {"lbfgs": None, "adam": None, "sgd": 3e-7}


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam", "sgd"])
def test_each_optimizer_lowers_the_total_loss(content, style, hed_weights, optimizer):
    result = run(content, style, hed_weights, optimizer=optimizer, num_steps=5,
                 learning_rate=LEARNING_RATES[optimizer])
    assert result.status == "completed"
    assert [record["step"] for record in result.history] == list(range(6))
    assert result.history[-1]["total"] < 0.9 * result.history[0]["total"]
    assert result.losses["total"] == totals(result).min()
    if optimizer == "lbfgs":  # the line search accepts only steps that lower the loss
        assert np.all(np.diff(totals(result)) <= 0)


# --- a real run -----------------------------------------------------------------------

def gram_matrices(weights, image):
    features = nst.FeatureExtractor(weights, STYLE_LAYERS)(image)
    return {name: nst.gram_matrix(features[name]).numpy() for name in STYLE_LAYERS}


@pytest.mark.slow
def test_default_run_halves_the_style_loss_and_moves_the_grams_to_the_style(hed_weights):
    content = nst.sample_image("grace_hopper", max_size=96)
    style = nst.sample_image("swirls", max_size=96)
    assert max(content.shape[1:3]) <= 96 and max(style.shape[1:3]) <= 96
    result = nst.stylize(content, style, weights=hed_weights, progress=False, verbose=False)
    assert result.status == "completed"
    assert result.settings["weights"] == "hed" and result.settings["optimizer"] == "adam"
    assert result.losses["style"] <= 0.5 * result.history[0]["style"]
    target = gram_matrices(hed_weights, style)
    before = gram_matrices(hed_weights, content)
    after = gram_matrices(hed_weights, result.image)
    for name in STYLE_LAYERS:
        distance_before = np.linalg.norm(before[name] - target[name])
        distance_after = np.linalg.norm(after[name] - target[name])
        assert distance_after < distance_before, name


# --- history and result contracts -----------------------------------------------------

def test_history_and_result_contract(content, style, hed_weights):
    options = dict(content_layers={"block4_conv2": 1.0}, style_layers=STYLE_LAYERS[:3],
                   content_weight=1e3, style_weight=2.0, tv_weight=0.5, pooling="average")
    num_steps = 4
    result = run(content, style, hed_weights, optimizer="adam", num_steps=num_steps, **options)
    history = result.history
    assert len(history) == num_steps + 1
    expected_keys = ({"step", "time", "size", "total", "content", "style", "tv",
                      "content/block4_conv2"} | {f"style/{name}" for name in STYLE_LAYERS[:3]})
    for step, record in enumerate(history):
        assert set(record) == expected_keys
        assert record["step"] == step
        assert record["size"] == (HEIGHT, WIDTH)
        assert all(isinstance(record[key], float) for key in expected_keys - {"step", "size"})
        np.testing.assert_allclose(record["total"],
                                   record["content"] + record["style"] + record["tv"], rtol=1e-5)
        np.testing.assert_allclose(record["style"],
                                   sum(record[f"style/{name}"] for name in STYLE_LAYERS[:3]),
                                   rtol=1e-5)
        assert record["content"] == record["content/block4_conv2"]
    times = [record["time"] for record in history]
    assert times[0] >= 0 and all(later > earlier for earlier, later in zip(times, times[1:]))

    image = result.image
    assert isinstance(image, np.ndarray) and image.dtype == np.float32
    assert image.shape == (1, HEIGHT, WIDTH, 3)
    assert np.all(np.isfinite(image)) and image.min() >= 0.0 and image.max() <= 1.0

    assert result.best_step == int(np.argmin(totals(result)))
    assert result.losses is history[result.best_step]
    recomputed = nst.compute_losses(image, content, style, weights=hed_weights, **options)
    assert set(recomputed) == expected_keys - {"step", "time", "size"}
    for name, value in recomputed.items():
        np.testing.assert_allclose(value, result.losses[name], rtol=1e-4, err_msg=name)
    assert "steps=4" in repr(result) and "status='completed'" in repr(result)


# --- stopping -------------------------------------------------------------------------

def test_request_stop_from_a_callback_keeps_the_best_image(content, style, hed_weights):
    # At 32x40 px an SGD learning rate of 1e-5 overshoots (see LEARNING_RATES): the loss
    # rises after step 1, so the best image is not the current one and the test can
    # tell them apart.
    recorder = Recorder(stop_at=3)
    result = run(content, style, hed_weights, optimizer="sgd", learning_rate=1e-5,
                 num_steps=20, callbacks=recorder)
    assert result.status == "stopped" and "Stopped" in result.message
    last_step = result.history[-1]["step"]
    assert 3 <= last_step <= 5
    assert result.best_step == int(np.argmin(totals(result))) != last_step
    np.testing.assert_array_equal(result.image, recorder.images[result.best_step])
    assert not np.array_equal(result.image, recorder.images[last_step])
    assert recorder.events[-1] == ("end", "stopped", last_step + 1)


def test_stop_event_set_from_another_thread(content, style, hed_weights):
    stop_event, reached_step_2 = threading.Event(), threading.Event()

    def stopper():
        if reached_step_2.wait(timeout=60):
            stop_event.set()

    def callback(run):
        if run.step == 2:
            reached_step_2.set()
            assert stop_event.wait(timeout=60), "the other thread never set the event"

    thread = threading.Thread(target=stopper)
    thread.start()
    try:
        result = run(content, style, hed_weights, optimizer="adam", num_steps=50,
                     stop_event=stop_event, callbacks=callback)
    finally:
        reached_step_2.set()
        thread.join(timeout=60)
    assert result.status == "stopped"
    assert result.history[-1]["step"] == 2  # the event was set during step 2: no step 3


def test_stop_event_already_set_runs_no_step(content, style, hed_weights):
    stop_event = threading.Event()
    stop_event.set()
    result = run(content, style, hed_weights, num_steps=10, stop_event=stop_event)
    assert result.status == "stopped" and len(result.history) == 1
    np.testing.assert_array_equal(result.image, content)


def test_callback_order_and_every(content, style, hed_weights):
    recorder = Recorder(every=2)
    steps_seen = []
    result = run(content, style, hed_weights, optimizer="adam", num_steps=5,
                 callbacks=[lambda run: steps_seen.append(run.step), recorder])
    assert result.status == "completed"
    assert steps_seen == [1, 2, 3, 4, 5]  # a plain function: every step
    assert recorder.events == [("start", 0, 0), ("step", 2, 2), ("step", 4, 4),
                               ("step", 5, 5), ("end", "completed", 6)]
    np.testing.assert_array_equal(recorder.images[0], content)  # on_start sees the init


def test_keyboard_interrupt_returns_the_run_so_far(content, style, hed_weights):
    recorder = Recorder(raise_at=2)
    try:
        result = run(content, style, hed_weights, optimizer="adam", num_steps=10,
                     callbacks=recorder, progress=True)  # the progress bar must close too
    except KeyboardInterrupt:
        pytest.fail("stylize let the KeyboardInterrupt escape instead of returning")
    assert result.status == "interrupted"
    assert "Interrupted at step 2" in result.message
    assert [record["step"] for record in result.history] == [0, 1, 2]
    assert recorder.events[-1] == ("end", "interrupted", 3)
    assert [event[0] for event in recorder.events] == ["start", "step", "step", "end"]
    assert result.best_step == int(np.argmin(totals(result)))
    np.testing.assert_array_equal(result.image, recorder.images[result.best_step])


# --- non-finite losses ----------------------------------------------------------------

def test_loss_overflowing_mid_run_stops_with_the_best_finite_image(style, hed_weights):
    # A flat content image has a total variation of exactly 0, so with a (finite) tv
    # weight of 1e38 step 0 is finite. Adam's first step makes neighbouring pixels
    # differ, the total variation becomes > 3.4 and 1e38 times it overflows float32.
    flat = np.full((1, HEIGHT, WIDTH, 3), 0.5, np.float32)
    result = run(flat, style, hed_weights, optimizer="adam", num_steps=10, tv_weight=1e38)
    assert result.status == "not finite"
    assert np.isfinite(result.history[0]["total"])
    assert len(result.history) == 2 and not np.isfinite(result.history[-1]["total"])
    assert "The loss became inf at step 1" in result.message
    assert f"(step {result.best_step})" in result.message
    assert "Lower the learning rate or the loss weights" in result.message
    assert result.best_step == 0 and np.all(np.isfinite(result.image))
    np.testing.assert_array_equal(result.image, flat)


def test_loss_not_finite_from_the_start(content, style, hed_weights):
    # A finite weight whose term overflows float32 (an infinite weight is refused up front).
    result = run(content, style, hed_weights, num_steps=5, tv_weight=3e38)
    assert result.status == "not finite" and "at step 0" in result.message
    assert len(result.history) == 1 and result.best_step == 0
    np.testing.assert_array_equal(result.image, content)


# --- initial images -------------------------------------------------------------------

def test_init_content_and_style(content, style, hed_weights):
    from_content = run(content, style, hed_weights, init="content", num_steps=0)
    assert from_content.status == "completed" and len(from_content.history) == 1
    np.testing.assert_array_equal(from_content.image, content)
    from_style = run(content, style, hed_weights, init="style", num_steps=0)
    assert from_style.image.shape == content.shape
    np.testing.assert_allclose(from_style.image, nst.resize_image(style, (HEIGHT, WIDTH)),
                               atol=1e-6)
    assert from_style.settings["init"] == "style"


def test_init_noise_is_seeded(content, style, hed_weights):
    first = run(content, style, hed_weights, init="noise", seed=1, num_steps=0).image
    again = run(content, style, hed_weights, init="noise", seed=1, num_steps=0).image
    other = run(content, style, hed_weights, init="noise", seed=2, num_steps=0).image
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert first.shape == content.shape and first.min() >= 0.0 and first.max() <= 1.0
    assert first.std() > 0.1  # noise, not a flat image


def test_init_image_continues_a_run(content, style, hed_weights):
    first = run(content, style, hed_weights, optimizer="adam", num_steps=3)
    same = run(content, style, hed_weights, init=first.image, num_steps=0)
    np.testing.assert_array_equal(same.image, first.image)
    assert same.settings["init"] == "image"
    more = run(content, style, hed_weights, init=first.image, num_steps=3)
    np.testing.assert_allclose(more.history[0]["total"], first.losses["total"], rtol=1e-4)
    assert more.losses["total"] < first.losses["total"]


def test_init_image_of_the_wrong_shape(content, style, hed_weights):
    wrong = np.zeros((1, HEIGHT, WIDTH + 1, 3), np.float32)
    with pytest.raises(ValueError, match=r"init image has shape \(1, 32, 41, 3\).*must match"):
        run(content, style, hed_weights, init=wrong, num_steps=1)


@pytest.mark.parametrize("options, message", [
    ({"optimizer": "newton"}, r"Unknown optimizer 'newton': use 'lbfgs', 'adam' or 'sgd'"),
    ({"init": "zeros"}, r"Unknown init 'zeros': use 'content', 'style', 'noise' or an image"),
    ({"num_steps": -1}, r"num_steps must be a whole number >= 0, got -1"),
    ({"num_steps": 2.5}, r"num_steps must be a whole number >= 0, got 2.5"),
    ({"optimizer": "adam", "learning_rate": 0.0}, r"learning_rate must be > 0, got 0.0"),
])
def test_bad_options_raise_helpful_errors(content, style, hed_weights, options, message):
    with pytest.raises(ValueError, match=message):
        run(content, style, hed_weights, **options)


# --- device and weights ---------------------------------------------------------------

def test_device(content, style, hed_weights):
    result = run(content, style, hed_weights, num_steps=0)
    assert result.device == nst.device_name()
    if not tf.config.list_physical_devices("GPU"):
        assert result.device == "CPU"
    assert f"device={result.device!r}" in repr(result)


def test_loaded_weights_are_reused_not_reloaded(content, style, hed_weights, monkeypatch):
    def no_reload(*args, **kwargs):
        raise AssertionError("load_weights was called although the weights were given")

    monkeypatch.setattr(nst_teach.backbone_weights, "load_weights", no_reload)
    result = run(content, style, hed_weights, optimizer="adam", num_steps=1)
    assert result.status == "completed" and result.settings["weights"] == "hed"
    losses = nst.compute_losses(result.image, content, style, weights=hed_weights)
    np.testing.assert_allclose(losses["total"], result.losses["total"], rtol=1e-4)


# --- diverging runs and the memory warning ---------------------------------------------

def test_a_diverging_run_says_so_and_names_the_fix(content, style, hed_weights):
    result = run(content, style, hed_weights, optimizer="sgd", learning_rate=1e3, num_steps=8)
    assert result.status == "diverged"
    assert "never went below its starting value" in result.message
    assert "learning rate" in result.message
    assert result.best_step == 0
    calm = run(content, style, hed_weights, optimizer="adam", num_steps=8)
    assert calm.status == "completed" and calm.best_step > 0


def history_of(totals, size=(32, 40)):
    return [{"step": step, "total": total, "size": size} for step, total in enumerate(totals)]


def test_divergence_message_on_histories():
    falling = [10.0 - step for step in range(9)]
    assert nst.optimize.divergence_message(history_of(falling), best_step=8) is None
    never = [10.0, 11.0, 10.5, 12.0]
    assert "never went below" in nst.optimize.divergence_message(history_of(never), 0)
    rising = [10.0, 5.0] + [5.0 + step for step in range(1, 12)]  # best at step 1, then up
    message = nst.optimize.divergence_message(history_of(rising), best_step=1)
    assert "rose for the last 10 steps" in message and "best 5" in message
    wobbling = [10.0, 5.0, 6.0, 5.5, 6.5, 6.0, 7.0, 6.5, 7.5, 7.0, 8.0, 7.5, 8.5]
    assert nst.optimize.divergence_message(history_of(wobbling), best_step=1) is None
    # A later stage of coarse to fine is judged on its own steps.
    staged = history_of([10.0, 9.0, 8.0]) + [
        {"step": 3 + step, "total": total, "size": (64, 80)}
        for step, total in enumerate([20.0, 19.0, 18.0])]
    assert nst.optimize.divergence_message(staged, best_step=5) is None
    assert nst.optimize.divergence_message(history_of([3.0]), best_step=0) is None


def test_stylize_warns_when_the_estimate_exceeds_the_profile_budget(content, style,
                                                                      hed_weights):
    nst.use_profile("local", memory_budget_mb=1)
    try:
        with pytest.warns(nst.MemoryBudgetWarning, match="more than the budget") as caught:
            nst.stylize(content, style, weights=hed_weights, num_steps=1, progress=False)
        assert caught[0].filename == __file__  # points at the caller's line
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error", nst.MemoryBudgetWarning)
            run(content, style, hed_weights, num_steps=1)  # verbose=False: no warning
    finally:
        nst.use_profile(None)


def test_an_infinite_loss_weight_is_refused_before_running(content, style, hed_weights):
    with pytest.raises(ValueError, match="tv_weight must be a number >= 0"):
        run(content, style, hed_weights, num_steps=5, tv_weight=float("inf"))
