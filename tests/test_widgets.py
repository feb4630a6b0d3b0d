"""Headless tests of nst_teach.widgets: build each widget, set values, click, check.

No browser: `button.click()` calls the handlers, and widget values are read
back in Python. The Studio runs real (tiny, 32 px) optimizations with the
offline hed weights.
"""

import datetime
import io
import threading
import time

import ipywidgets
import numpy as np
import pytest
from PIL import Image

import nst_teach as nst
from nst_teach import widgets
from nst_teach.callbacks import Run
from nst_teach.images import image_to_png_bytes

UPLOAD_TIME = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def simulate_upload(upload, name, content):
    """Does to a FileUpload what the browser does when a user picks one file."""
    if ipywidgets.__version__.startswith("7."):  # value is read-only, built from these
        upload.metadata = [{"name": name, "type": "", "size": len(content), "lastModified": 0}]
        upload.data = [content]
        upload._counter += 1
    else:
        upload.value = ({"name": name, "type": "", "size": len(content),
                         "content": memoryview(content), "last_modified": UPLOAD_TIME},)


def decode(data, expected_format):
    with Image.open(io.BytesIO(bytes(data))) as image:
        image.load()
        assert image.format == expected_format
        return image.size


def make_run(num_steps=10):
    return Run(num_steps=num_steps, device="CPU", settings={},
               get_image=lambda: None, get_best_image=lambda: None)


def add_step(run, step):
    run.step = step
    run.history.append({"step": step, "time": 0.01 * step, "total": 3.0 / (step + 1),
                        "content": 1.0, "style": 1.0 / (step + 1), "tv": 1.0,
                        "style/block1_conv1": 1.0 / (step + 1)})


def wait_until(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


# ----- helpers -----

def test_uploaded_files_reads_ipywidgets_7_and_8():
    version_8 = ({"name": "a.png", "type": "image/png", "size": 3,
                  "content": memoryview(b"abc"), "last_modified": UPLOAD_TIME},)
    version_7 = {"a.png": {"metadata": {"name": "a.png"}, "content": b"abc"}}
    assert widgets.uploaded_files(version_8) == [("a.png", b"abc")]
    assert widgets.uploaded_files(version_7) == [("a.png", b"abc")]
    assert widgets.uploaded_files(()) == []


def test_available_layers_stop_at_the_loaded_weights(random_weights):
    layers = widgets.available_layers(random_weights)
    assert layers[-1] == "block3_conv1"
    assert "block2_pool" in layers and "block3_conv2" not in layers


def test_layer_candidates_follow_the_loaded_weights(hed_weights, random_weights):
    assert widgets.style_layer_candidates(hed_weights) == [
        f"block{block}_conv1" for block in range(1, 6)]
    assert widgets.style_layer_candidates(random_weights) == [
        "block1_conv1", "block2_conv1", "block3_conv1"]
    content_layers = widgets.content_layer_candidates(hed_weights)
    assert content_layers == nst.layer_names("vgg16", include_pooling=False)
    assert widgets.content_layer_candidates(random_weights)[-1] == "block3_conv1"


def test_upload_size_problem_is_a_readable_sentence():
    assert widgets.upload_size_problem("small.png", 20 * 2**20) is None
    problem = widgets.upload_size_problem("big.jpg", 25 * 2**20)
    assert problem.startswith("big.jpg is 25.0 MB; files up to 20 MB are accepted")
    assert widgets.upload_size_problem("a.png", 11, limit=10) is not None


def test_picture_layout_sets_only_the_width():
    layout = widgets.picture_layout("320px")
    assert (layout.width, layout.height, layout.object_fit) == ("320px", "auto", "contain")
    assert layout.align_self == "flex-start"  # an HBox would stretch it to the row's height
    assert widgets.picture_layout().width is None


def test_readable_error_is_one_short_line():
    text = widgets.readable_error(ValueError("bad\n   thing " + "x" * 1000))
    assert text.startswith("ValueError: bad thing")
    assert "\n" not in text and len(text) < 450


# ----- LossPlot -----

def test_loss_plot_is_a_throttled_callback():
    loss_plot = widgets.LossPlot(every_seconds=60.0)
    assert isinstance(loss_plot, nst.Callback)
    assert isinstance(loss_plot.widget, ipywidgets.Widget)
    run = make_run()
    loss_plot.on_start(run)
    for step in range(5):
        add_step(run, step)
        loss_plot.on_step(run)
    assert loss_plot.draw_count == 1  # the first step only: then throttled
    loss_plot.on_end(run)
    assert loss_plot.draw_count == 2  # the end is always drawn
    decode(loss_plot.image.value, "PNG")


def test_loss_plot_redraws_after_its_interval():
    loss_plot = widgets.LossPlot(every_seconds=0.05, max_overhead=1.0)
    run = make_run()
    loss_plot.on_start(run)
    for step in range(3):
        add_step(run, step)
        loss_plot.on_step(run)
        # the pause is the longer of every_seconds and the drawing time / max_overhead
        assert loss_plot._next_draw - time.perf_counter() <= 0.05 + 1.0
        time.sleep(max(0.0, loss_plot._next_draw - time.perf_counter()) + 0.01)
    assert loss_plot.draw_count == 3


def test_loss_plot_checkbox_redraws_in_linear_scale():
    loss_plot = widgets.LossPlot()
    run = make_run()
    loss_plot.on_start(run)
    add_step(run, 0)
    loss_plot.on_end(run)
    before = loss_plot.draw_count
    loss_plot.log_scale.value = False
    assert loss_plot.draw_count == before + 1
    decode(loss_plot.image.value, "PNG")


def test_loss_plot_controls_choose_axis_terms_and_panels(monkeypatch):
    loss_plot = widgets.LossPlot()
    run = make_run()
    loss_plot.on_start(run)
    for step in range(3):
        add_step(run, step)
    drawn = []
    monkeypatch.setattr(nst.plots, "plot_losses",
                        lambda history, **options: drawn.append(options) or
                        nst.plots.losses.plot_losses(history, **options))
    loss_plot.x_axis.value = "time"
    loss_plot.term_boxes["tv"].value = False
    loss_plot.per_layer_box.value = False
    assert drawn[-1] == {"log_scale": True, "per_layer": False, "x_axis": "time",
                         "terms": ["total", "content", "style"]}
    assert len(drawn) == 3  # each change redraws
    decode(loss_plot.image.value, "PNG")


def test_loss_plot_continues_earlier_seconds_too():
    loss_plot = widgets.LossPlot(x_axis="time")
    loss_plot.earlier = [{"step": 0, "time": 0.0, "total": 2.0},
                         {"step": 1, "time": 4.0, "total": 1.0}]
    run = make_run()
    loss_plot.on_start(run)
    add_step(run, 0)
    add_step(run, 1)
    assert [record["time"] for record in loss_plot.plotted_history()] == [0.0, 4.0, 4.01]
    with pytest.raises(ValueError, match="x_axis must be"):
        widgets.LossPlot(x_axis="epoch")


def test_loss_plot_continues_earlier_history():
    loss_plot = widgets.LossPlot()
    loss_plot.earlier = [{"step": 0, "total": 2.0}, {"step": 1, "total": 1.0}]
    run = make_run()
    loss_plot.on_start(run)
    add_step(run, 0)
    add_step(run, 1)
    assert [record["step"] for record in loss_plot.plotted_history()] == [0, 1, 2]


def test_loss_plot_validates_arguments():
    with pytest.raises(ValueError, match="max_overhead"):
        widgets.LossPlot(max_overhead=0.0)


# ----- ActivationExplorer -----

@pytest.fixture
def explorer(hed_weights, tiny_image):
    return widgets.ActivationExplorer(
        hed_weights, {"first": tiny_image(32, 32, seed=1), "second": tiny_image(32, 48, seed=2)},
        max_size=64)


def test_activation_explorer_starts_on_the_first_layer(explorer):
    assert explorer.layer_dropdown.options[0] == "block1_conv1"
    assert "block5_pool" in explorer.layer_dropdown.options
    assert explorer.channel_slider.max == 63
    assert "32 × 32 × 64" in explorer.info.value
    assert "3 × 3 input pixels" in explorer.info.value
    decode(explorer.grid_image.value, "PNG")
    decode(explorer.channel_image.value, "PNG")


def test_activation_explorer_follows_layer_and_image(explorer, hed_weights, tiny_image):
    explorer.layer_dropdown.value = "block3_pool"
    explorer.image_dropdown.value = "second"
    assert explorer.channel_slider.max == nst.layer_channels("vgg16", "block3_pool") - 1
    size, stride = nst.receptive_field("vgg16", "block3_pool")
    assert f"{size} × {size} input pixels" in explorer.info.value
    assert f"{stride} px apart" in explorer.info.value
    assert "4 × 6 × 256" in explorer.info.value
    expected = nst.FeatureExtractor(hed_weights, ["block3_pool"])(
        tiny_image(32, 48, seed=2))["block3_pool"].numpy()
    np.testing.assert_allclose(explorer.current_activations(), expected, rtol=1e-5, atol=1e-5)


def test_activation_explorer_draws_the_receptive_field_of_a_position(explorer):
    explorer.layer_dropdown.value = "block2_conv2"  # 16 x 16 activations of a 32 px image
    assert (explorer.row.max, explorer.column.max) == (15, 15)
    assert (explorer.row.value, explorer.column.value) == (8, 8)  # starts at the centre
    assert explorer.field_box() == nst.features.receptive_field_box(
        "vgg16", "block2_conv2", (8, 8), (32, 32))
    before = explorer.field_image.value
    explorer.row.value, explorer.column.value = 0, 15
    assert explorer.field_box() == (0, 24, 7, 31)  # 14 px around (0.5, 30.5), clipped
    assert explorer.field_image.value != before
    decode(explorer.field_image.value, "PNG")


def test_activation_explorer_follows_a_studio_run(explorer, hed_weights, tiny_image):
    studio = widgets.Studio(tiny_image(32, 32, seed=5), tiny_image(32, 32, seed=6),
                            weights=hed_weights, preview_seconds=0.0, max_size=64)
    follower = explorer.follow(studio)
    follower.every_seconds = 0.0
    studio.steps.value = 3
    studio.run(blocking=True)
    assert studio.error is None, studio.status.value
    assert widgets.RUN_IMAGE in explorer.image_dropdown.options
    assert explorer.image_dropdown.value == "first"  # the selection is kept
    assert follower.updates == 5  # the start, three steps and the best image at the end
    np.testing.assert_allclose(explorer.images[widgets.RUN_IMAGE], studio.image, atol=1e-6)
    explorer.image_dropdown.value = widgets.RUN_IMAGE
    grid_before = explorer.grid_image.value
    studio.style_weight.value *= 100
    studio.run(blocking=True)  # shown: it is redrawn as the run goes
    assert explorer.grid_image.value != grid_before
    np.testing.assert_allclose(explorer.current_activations(), explorer.activations(
        widgets.RUN_IMAGE, explorer.layer_dropdown.value), rtol=0)


def test_activation_explorer_ranks_by_max_and_by_difference(explorer, monkeypatch):
    drawn = []
    original = nst.plots.plot_activations
    monkeypatch.setattr(nst.plots, "plot_activations",
                        lambda activations, channels=None, **options:
                        drawn.append((channels, options.get("title", ""))) or
                        original(activations, channels, **options))
    explorer.rank.value = "max"
    channels, title = drawn[-2]  # the grid is drawn before the single channel
    assert title.endswith("by max")
    assert channels == nst.plots.rank_channels(explorer.current_activations(), len(channels),
                                               by="max")
    explorer.rank.value = "difference"  # compare is off: ranked by mean, and it says why
    assert drawn[-2][1].endswith("by mean") and "tick compare" in explorer.message.value
    explorer.compare.value = True
    channels, title = next(item for item in reversed(drawn) if item[1].endswith("by difference"))
    assert explorer.message.value == ""
    assert channels == nst.plots.rank_channels(explorer.current_activations(), len(channels),
                                               by="difference",
                                               other=explorer.compared_activations())


def test_activation_explorer_caches_per_image_and_layer(explorer):
    first = explorer.activations("first", "block2_conv1")
    assert explorer.activations("first", "block2_conv1") is first
    assert ("first", "block2_conv1") in explorer._cache


def test_activation_explorer_channel_slider_redraws_the_channel(explorer):
    # Each layer starts on its most active channel (channel 0 is often dead: a blank map).
    assert explorer.channel_slider.value == nst.plots.rank_channels(
        explorer.current_activations(), 1)[0]
    before = explorer.channel_image.value
    grid = explorer.grid_image.value
    explorer.channel_slider.value = (explorer.channel_slider.value + 1) % 64
    assert explorer.channel_image.value != before
    assert explorer.grid_image.value == grid


def test_activation_explorer_upload_adds_an_image(explorer, tiny_image):
    simulate_upload(explorer.upload, "mine.png", image_to_png_bytes(tiny_image(100, 80)))
    assert explorer.image_dropdown.value == "upload: mine.png"
    assert explorer.images["upload: mine.png"].shape == (1, 64, 51, 3)  # max_size=64
    assert explorer.message.value == ""


def test_activation_explorer_bad_upload_shows_a_message(explorer):
    simulate_upload(explorer.upload, "notes.txt", b"hello")
    assert "Could not load upload: notes.txt" in explorer.message.value
    assert "not an image file" in explorer.message.value
    assert explorer.image_dropdown.options == ("first", "second")


def test_activation_explorer_compares_two_images_side_by_side(explorer):
    assert not explorer.compare.value and explorer.second_dropdown.disabled
    assert explorer.second_dropdown.value == "second"
    explorer.layer_dropdown.value = "block2_conv1"
    explorer.channel_slider.value = 3
    single = explorer.channel_image.value
    explorer.compare.value = True
    assert not explorer.second_dropdown.disabled
    assert explorer.channel_image.value != single
    assert decode(explorer.channel_image.value, "PNG")[0] > decode(single, "PNG")[0]
    assert "Compared with <b>second</b>: 16 × 24 × 128" in explorer.info.value
    np.testing.assert_array_equal(explorer.compared_activations(),
                                  explorer.activations("second", "block2_conv1"))
    pair = explorer.channel_image.value
    explorer.second_dropdown.value = "first"
    assert explorer.channel_image.value != pair
    assert "Compared with <b>first</b>" in explorer.info.value
    explorer.compare.value = False
    assert explorer.second_dropdown.disabled
    assert explorer.channel_image.value == single
    assert "Compared with" not in explorer.info.value


def test_activation_explorer_upload_keeps_the_compared_image(explorer, tiny_image):
    explorer.compare.value = True
    simulate_upload(explorer.upload, "mine.png", image_to_png_bytes(tiny_image(40, 40)))
    assert explorer.image_dropdown.value == "upload: mine.png"
    assert explorer.second_dropdown.value == "second"
    assert "upload: mine.png" in explorer.second_dropdown.options
    assert "Compared with <b>second</b>" in explorer.info.value


def test_activation_explorer_rejects_unknown_layers(hed_weights, tiny_image):
    with pytest.raises(ValueError, match="weights compute"):
        widgets.ActivationExplorer(hed_weights, {"a": tiny_image()}, layers=["block9_conv1"])


# ----- GramViewer -----

def test_gram_viewer_shows_the_style_loss(hed_weights, tiny_image):
    style, image = tiny_image(32, 32, seed=3), tiny_image(32, 32, seed=4)
    viewer = widgets.GramViewer(hed_weights, style, image)
    assert viewer.layer_dropdown.options == nst.DEFAULT_STYLE_LAYERS
    viewer.layer_dropdown.value = "block2_conv1"
    extractor = nst.FeatureExtractor(hed_weights, ["block2_conv1"])
    expected = float(nst.style_loss(extractor(image)["block2_conv1"],
                                    nst.gram_matrix(extractor(style)["block2_conv1"])))
    assert viewer.layer_style_loss("block2_conv1") == pytest.approx(expected, rel=1e-5)
    assert f"{expected:.4g}" in viewer.info.value
    decode(viewer.figure.value, "PNG")


def test_gram_viewer_of_the_style_itself_has_zero_loss(hed_weights, tiny_image):
    style = tiny_image(32, 32, seed=3)
    viewer = widgets.GramViewer(hed_weights, style, style, layers=["block1_conv1"])
    assert viewer.layer_style_loss("block1_conv1") == 0.0


def test_gram_viewer_views_pairs_and_shares(hed_weights, tiny_image):
    style, image = tiny_image(32, 32, seed=3), tiny_image(32, 32, seed=4)
    viewer = widgets.GramViewer(hed_weights, style, image, layers=["block1_conv1", "block2_conv1"],
                                num_pairs=3)
    raw_png = viewer.figure.value
    viewer.view.value = "correlation"
    assert viewer.figure.value != raw_png  # redrawn in the new view
    style_matrix, image_matrix = viewer.matrices("block1_conv1", "correlation")
    assert np.abs(style_matrix).max() <= 1.0 + 1e-5
    assert "Pairs that differ most (correlation)" in viewer.pairs.value
    assert viewer.pairs.value.count("<tr><td>") == 3
    (c, d, a, b), *_ = nst.statistics.most_different_pairs(style_matrix, image_matrix, 1,
                                                           include_diagonal=False)
    assert c != d  # a correlation's diagonal says nothing
    assert f"<tr><td>{c}, {d}</td><td>{a:.3g}</td><td>{b:.3g}</td></tr>" in viewer.pairs.value
    shares = viewer.layer_shares()
    assert shares == pytest.approx({name: viewer.layer_style_loss(name) / 2
                                    for name in ["block1_conv1", "block2_conv1"]})
    decode(viewer.shares.value, "PNG")


# ----- Studio -----

@pytest.fixture
def studio(hed_weights, tiny_image, tmp_path):
    studio = widgets.Studio(tiny_image(32, 32, seed=5), tiny_image(32, 32, seed=6),
                            weights=hed_weights, preview_seconds=0.0, max_size=256,
                            output_path=str(tmp_path / "out.png"))  # not the fast profile's 64
    yield studio
    studio.stop()
    assert studio.wait(120)


def test_studio_strength_sets_the_style_weight(studio):
    studio.strength.value = 10.0
    assert studio.style_weight.value == pytest.approx(10.0 * studio.base_style_weight)
    studio.style_weight.value = 0.1 * studio.base_style_weight
    assert studio.strength.value == pytest.approx(0.1)


def test_studio_optimizer_sets_its_default_steps(studio):
    studio.optimizer.value = "lbfgs"
    assert studio.steps.value == nst.settings.OPTIMIZER_DEFAULTS["lbfgs"]["num_steps"] == 100
    assert studio.settings()["optimizer"] == "lbfgs"
    studio.optimizer.value = "adam"
    assert studio.steps.value == nst.settings.OPTIMIZER_DEFAULTS["adam"]["num_steps"] == 200


def test_studio_run_advances_and_completes(studio, tmp_path):
    studio.steps.value = 5
    decode(studio.preview.value, "JPEG")
    studio.run_button.click()
    assert studio.wait(120)
    assert studio.error is None, studio.status.value
    assert studio.result.status == "completed"
    assert studio.progress.value == 5 and studio.progress.max == 5
    assert "Completed 5 steps" in studio.status.value
    assert decode(studio.preview.value, "JPEG") == (32, 32)
    assert not studio.run_button.disabled and studio.stop_button.disabled
    assert studio.loss_plot.draw_count >= 1
    assert [record["step"] for record in studio.history] == list(range(6))
    studio.save_button.click()
    assert decode((tmp_path / "out.png").read_bytes(), "PNG") == (32, 32)
    assert "Saved" in studio.status.value


def test_studio_stop_ends_within_a_couple_of_steps(studio):
    studio.optimizer.value = "adam"
    studio.steps.value = 2000
    content_preview = studio.preview.value
    studio.run()
    assert studio.running and not studio.stop_button.disabled
    wait_until(lambda: len(studio.loss_plot.history) > 3)
    wait_until(lambda: studio.progress.value >= 2)  # the monitor runs after the history grows
    assert studio.progress.max == 2000
    assert "step " in studio.status.value and "/ 2000" in studio.status.value
    assert "total loss" in studio.status.value and "CPU" in studio.status.value
    assert studio.preview.value != content_preview
    studio.stop_button.click()
    steps_at_stop = len(studio.loss_plot.history) - 1
    assert studio.wait(60)
    result = studio.result
    assert result.status == "stopped"
    assert len(result.history) - 1 - steps_at_stop <= 2
    assert result.image.shape == (1, 32, 32, 3)
    assert studio.image is result.image
    assert "Stopped at step" in studio.status.value


def spy_on_stylize(monkeypatch):
    """Records the keywords of every `stylize` call the Studio makes (and still runs it)."""
    calls = []
    original = widgets.studio.stylize

    def spy(*args, **options):
        calls.append({"styles": args[1], **options})
        return original(*args, **options)

    monkeypatch.setattr(widgets.studio, "stylize", spy)
    return calls


def test_studio_continue_resumes_the_optimizer_state(studio, monkeypatch):
    studio.steps.value = 3
    studio.run(blocking=True)
    state = studio.result.optimizer_state
    assert state.steps == 3
    calls = spy_on_stylize(monkeypatch)
    studio.continue_button.click()
    assert studio.wait(120)
    assert calls[-1]["resume"] is state and calls[-1]["init"] == "content"
    assert studio.result.optimizer_state.steps == 6  # the same Adam went on
    assert [record["step"] for record in studio.history] == list(range(7))
    assert studio.history[4]["total"] == pytest.approx(studio.result.history[1]["total"])


def test_studio_continue_restarts_and_says_why_when_a_setting_changed(studio, monkeypatch):
    studio.steps.value = 3
    studio.run(blocking=True)
    first = studio.image
    calls = spy_on_stylize(monkeypatch)
    studio.pooling.value = "average"
    studio.continue_run()
    assert "restarts adam from the best image: pooling changed" in studio.status.value
    assert studio.wait(120)
    assert calls[-1]["resume"] is None and calls[-1]["init"] is first
    assert [record["step"] for record in studio.history] == list(range(7))


def test_studio_passes_lesson_08_controls_and_the_learning_rate(studio, monkeypatch):
    studio.steps.value = 2
    studio.init.value = "noise"
    studio.learning_rate.value = 0.05
    studio.style_scale.value = 0.5
    studio.preserve_colors.value = "luminance"
    calls = spy_on_stylize(monkeypatch)
    studio.run(blocking=True)
    assert studio.error is None, studio.status.value
    call = calls[-1]
    assert (call["init"], call["learning_rate"], call["style_scale"], call["preserve_colors"]) == (
        "noise", 0.05, 0.5, "luminance")
    assert call["style_masks"] is None
    studio.optimizer.value = "lbfgs"
    assert studio.learning_rate.disabled and studio.settings()["learning_rate"] is None
    studio.optimizer.value = "sgd"
    assert not studio.learning_rate.disabled
    assert studio.learning_rate.value == nst.settings.OPTIMIZER_DEFAULTS["sgd"]["learning_rate"]
    studio.learning_rate.value = 0.0
    studio.run_button.click()
    assert "learning rate must be &gt; 0" in studio.status.value


def test_studio_second_style_with_a_mask_preset(studio, monkeypatch):
    assert studio.mask_preset.disabled and studio.mask_preview.layout.display == "none"
    studio.second_style.value = "mosaic"
    assert not studio.mask_preset.disabled and studio.mask_preview.layout.display is None
    preview_left_right = studio.mask_preview.value
    studio.mask_preset.value = "top | bottom"
    assert studio.mask_preview.value != preview_left_right
    studio.steps.value = 2
    calls = spy_on_stylize(monkeypatch)
    studio.run(blocking=True)
    assert studio.error is None, studio.status.value
    styles, masks = calls[-1]["styles"], calls[-1]["style_masks"]
    assert len(styles) == 2 and max(styles[1].shape[1:3]) == studio.size.value
    np.testing.assert_array_equal(masks[0][0, :16], 1.0)  # the first style on the top half
    np.testing.assert_array_equal(masks[0] + masks[1], 1.0)
    assert studio.describe(studio.settings())["regions"] == "top | bottom"


def test_studio_filmstrip_and_compare(studio):
    studio.steps.value = 5
    studio.run(blocking=True)
    captions = [frame.children[1].value for frame in studio.filmstrip.children]
    assert captions == [f"step {step}" for step in nst.widgets.studio_logic.filmstrip_steps(5)]
    assert studio.comparison.children == ()
    studio.compare.value = True
    studio.tv_weight.value = 0.0
    studio.run(blocking=True)
    last, this = studio.comparison.children
    assert "<b>last run</b>" in last.children[1].value
    assert "<b>tv_weight: 0.0</b>" in this.children[1].value  # what differs is in bold
    assert "<b>optimizer" not in this.children[1].value
    studio.steps.value = 4
    studio.continue_run(blocking=True)  # the filmstrip goes on from the earlier steps
    assert studio.filmstrip.children[0].children[1].value == "step 5"


def test_studio_shows_errors_in_the_status_line(studio, monkeypatch):
    def broken(*args, **options):
        raise RuntimeError("the GPU caught fire\nline two")

    monkeypatch.setattr(widgets.studio, "stylize", broken)
    studio.run(blocking=True)
    assert "RuntimeError: the GPU caught fire line two" in studio.status.value
    assert "Traceback" not in studio.status.value
    assert isinstance(studio.error, RuntimeError)
    assert not studio.run_button.disabled


def test_studio_refuses_a_second_run_and_bad_weights(studio, monkeypatch):
    started, release = threading.Event(), threading.Event()

    def slow(*args, **options):
        started.set()
        release.wait(30)
        raise RuntimeError("released")

    monkeypatch.setattr(widgets.studio, "stylize", slow)
    studio.run()
    started.wait(30)
    with pytest.raises(RuntimeError, match="already going"):
        studio.run()
    studio.run_button.click()  # a click shows it instead of raising
    assert "already going" in studio.status.value
    release.set()
    assert studio.wait(30)
    studio.tv_weight.value = -1.0
    studio.run_button.click()
    assert "must be &gt;= 0" in studio.status.value


def test_studio_save_before_run_shows_a_message(studio, tmp_path):
    studio.save_button.click()
    assert "Nothing to save yet" in studio.status.value
    assert not (tmp_path / "out.png").exists()


def test_studio_preview_keeps_the_aspect_ratio(hed_weights, tiny_image):
    studio = widgets.Studio(tiny_image(32, 48), tiny_image(32, 32), weights=hed_weights)
    assert studio.preview.layout.width == widgets.PREVIEW_WIDTH
    assert studio.preview.layout.height == "auto"
    assert studio.preview.layout.object_fit == "contain"
    assert studio.preview.width == "" and studio.preview.height == ""  # nothing forced
    assert decode(studio.preview.value, "JPEG") == (48, 32)
    for thumbnail in studio.thumbnails.values():
        assert thumbnail.layout.width == widgets.THUMBNAIL_WIDTH
        assert thumbnail.layout.object_fit == "contain"
    assert decode(studio.thumbnails["content"].value, "PNG") == (48, 32)


# ----- Studio: image pickers, size and layers -----

def test_studio_pickers_offer_the_given_images_and_the_samples(studio):
    for kind in ("content", "style"):
        picker = studio.pickers[kind]
        assert picker.value == widgets.GIVEN
        assert list(picker.options) == [widgets.GIVEN] + nst.sample_names(kind)
        assert isinstance(studio.uploads[kind], ipywidgets.FileUpload)
    assert studio.content.shape == studio.style.shape == (1, 32, 32, 3)


def test_studio_picking_a_sample_updates_the_image_and_thumbnail(studio):
    thumbnail = studio.thumbnails["style"].value
    studio.size.value = 64
    studio.pickers["style"].value = "swirls"
    assert studio.style.shape == (1, 64, 64, 3)
    np.testing.assert_allclose(studio.style, nst.sample_image("swirls", max_size=64), atol=1e-6)
    assert studio.thumbnails["style"].value != thumbnail
    assert "style: swirls, 64 × 64 px" in studio.status.value
    studio.pickers["style"].value = widgets.GIVEN
    assert studio.style.shape == (1, 32, 32, 3)
    assert studio.thumbnails["style"].value == thumbnail


def test_studio_upload_becomes_the_content(studio, tiny_image):
    preview = studio.preview.value
    uploaded = tiny_image(100, 80, seed=7)
    simulate_upload(studio.uploads["content"], "mine.png", image_to_png_bytes(uploaded))
    assert studio.pickers["content"].value == "upload: mine.png"
    assert studio.pickers["content"].options[-1] == "upload: mine.png"
    assert studio.content.shape == (1, 100, 80, 3)  # smaller than the size: kept as it is
    np.testing.assert_allclose(studio.content, uploaded, atol=1 / 255)
    assert studio.preview.value != preview  # no result yet: the preview shows the content
    assert decode(studio.thumbnails["content"].value, "PNG") == (80, 100)
    studio.size.value = 64
    assert studio.content.shape == (1, 64, 51, 3)
    assert "Could not" not in studio.status.value


def test_studio_rejects_too_large_and_bad_uploads(studio):
    simulate_upload(studio.uploads["style"], "huge.png", b"\0" * (25 * 2**20))
    assert "huge.png is 25.0 MB; files up to 20 MB are accepted" in studio.status.value
    assert widgets.ERROR_STYLE in studio.status.value
    simulate_upload(studio.uploads["style"], "notes.txt", b"hello")
    assert "Could not load notes.txt" in studio.status.value
    assert "not an image file" in studio.status.value
    assert "Traceback" not in studio.status.value
    assert studio.pickers["style"].value == widgets.GIVEN
    assert list(studio.sources["style"]) == [widgets.GIVEN]


def test_studio_refuses_a_decompression_bomb_and_takes_a_16_bit_png(studio):
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, format="PNG")  # 81 Mpx in a few kB
    assert len(bomb.getvalue()) < 100_000
    simulate_upload(studio.uploads["style"], "bomb.png", bomb.getvalue())
    assert "Could not load bomb.png" in studio.status.value
    assert "pixels" in studio.status.value and "Traceback" not in studio.status.value
    assert list(studio.sources["style"]) == [widgets.GIVEN]
    deep = io.BytesIO()
    values = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50)
    Image.fromarray(values).save(deep, format="PNG")  # mode I;16
    simulate_upload(studio.uploads["style"], "deep.png", deep.getvalue())
    assert studio.pickers["style"].value == "upload: deep.png", studio.status.value
    assert studio.style.shape == (1, 30, 40, 3) and studio.style.max() > 0.9


def test_studio_stop_twice_and_continue_after_an_error(studio, monkeypatch):
    studio.stop()  # nothing running: nothing happens
    original = widgets.studio.stylize
    monkeypatch.setattr(widgets.studio, "stylize",
                        lambda *args, **options: (_ for _ in ()).throw(RuntimeError("boom")))
    studio.run(blocking=True)
    assert "The run failed: RuntimeError: boom" in studio.status.value
    monkeypatch.setattr(widgets.studio, "stylize", original)
    studio.steps.value = 2000
    studio.continue_button.click()  # after an error (no result yet): a fresh run
    wait_until(lambda: len(studio.loss_plot.history) > 2)
    studio.stop_button.click()
    studio.stop_button.click()  # a second Stop changes nothing
    assert studio.wait(120)
    assert studio.error is None and studio.result.status == "stopped"
    assert not studio.run_button.disabled and studio.stop_button.disabled


def test_studio_says_when_a_run_diverged(studio):
    studio.optimizer.value = "sgd"
    studio.learning_rate.value = 1e3
    studio.steps.value = 5
    studio.run(blocking=True)
    assert studio.result.status == "diverged"
    assert "never went below its starting value" in studio.status.value
    assert "Lower the learning rate" in studio.status.value


def test_studio_image_size_resizes_from_the_full_source(hed_weights, tiny_image, monkeypatch):
    source = tiny_image(96, 64, seed=8)
    studio = widgets.Studio(source, tiny_image(64, 64, seed=9), weights=hed_weights,
                            max_size=32, preview_seconds=0.0)
    assert (studio.size.value, studio.size.min, studio.size.max) == (32, 32, 512)
    assert studio.content.shape == (1, 32, 21, 3)
    studio.steps.value = 1
    studio.run(blocking=True)
    assert studio.result.image.shape == (1, 32, 21, 3)
    seen = {}
    original = widgets.studio.stylize

    def spy(content, style, **options):
        seen.update(content=content, style=style, init=options["init"])
        return original(content, style, **options)

    monkeypatch.setattr(widgets.studio, "stylize", spy)
    studio.size.value = 48
    studio.continue_run(blocking=True)
    assert studio.error is None, studio.status.value
    np.testing.assert_array_equal(seen["content"], nst.resize_to_max_size(source, 48))
    assert seen["style"].shape == (1, 48, 48, 3)
    assert seen["init"].shape == (1, 48, 32, 3)  # the earlier result, resized to match
    assert studio.image.shape == (1, 48, 32, 3)


def test_studio_size_changed_during_a_run_applies_to_the_next(studio, monkeypatch):
    started, release, seen = threading.Event(), threading.Event(), []

    def fake(content, style, **options):
        seen.append((content.shape, style.shape))
        started.set()
        release.wait(30)
        raise RuntimeError("not this time")

    monkeypatch.setattr(widgets.studio, "stylize", fake)
    studio.pickers["style"].value = "swirls"
    studio.size.value = 64
    studio.run()
    started.wait(30)
    studio.size.value = 96  # disabled in the notebook; from code it waits for the next run
    assert studio.style.shape == (1, 64, 64, 3)
    release.set()
    assert studio.wait(30)
    studio.run(blocking=True)
    assert seen == [((1, 32, 32, 3), (1, 64, 64, 3)), ((1, 32, 32, 3), (1, 96, 96, 3))]


def test_studio_layer_controls_go_to_stylize(studio, monkeypatch):
    boxes = studio.style_layer_boxes
    assert list(boxes) == [f"block{block}_conv1" for block in range(1, 6)]
    assert [name for name, box in boxes.items() if box.value] == list(nst.DEFAULT_STYLE_LAYERS)
    assert studio.content_layer.value == "block5_conv2"
    assert "block1_conv2" in studio.content_layer.options
    boxes["block4_conv1"].value = boxes["block5_conv1"].value = False
    studio.content_layer.value = "block4_conv2"
    seen = {}

    def fake(content, style, **options):
        seen.update(options)
        raise RuntimeError("not this time")

    monkeypatch.setattr(widgets.studio, "stylize", fake)
    studio.run(blocking=True)
    assert seen["style_layers"] == ["block1_conv1", "block2_conv1", "block3_conv1"]
    assert seen["content_layers"] == ["block4_conv2"]


def test_studio_refuses_to_run_without_a_style_layer(studio, monkeypatch):
    def never(*args, **options):
        raise AssertionError("stylize should not be called")

    monkeypatch.setattr(widgets.studio, "stylize", never)
    for box in studio.style_layer_boxes.values():
        box.value = False
    studio.run_button.click()
    assert "Check at least one style layer" in studio.status.value
    assert not studio.running and studio.error is None


def test_studio_image_controls_are_disabled_while_running(studio, monkeypatch):
    started, release = threading.Event(), threading.Event()

    def slow(*args, **options):
        started.set()
        release.wait(30)
        raise RuntimeError("released")

    monkeypatch.setattr(widgets.studio, "stylize", slow)
    controls = [*studio.pickers.values(), *studio.uploads.values(), studio.size,
                *studio.style_layer_boxes.values(), studio.content_layer]
    assert not any(control.disabled for control in controls)
    studio.run()
    started.wait(30)
    assert all(control.disabled for control in controls)
    studio.pickers["content"].value = "grace_hopper"  # from code: refused while running
    assert studio.pickers["content"].value == widgets.GIVEN
    assert "Wait for the run to end" in studio.status.value
    release.set()
    assert studio.wait(30)
    assert not any(control.disabled for control in controls)


# ----- Studio: presets -----

def test_studio_preset_sets_size_optimizer_steps_and_strength(studio):
    assert studio.preset.value == widgets.CUSTOM
    studio.optimizer.value = "adam"
    studio.strength.value = 10.0
    studio.preset.value = "classroom"
    preset = nst.presets.get("classroom")
    assert studio.optimizer.value == preset.optimizer
    assert studio.steps.value == preset.num_steps  # not the optimizer's default
    assert studio.size.value == preset.image_size
    assert studio.strength.value == pytest.approx(preset.strength)
    assert studio.style_weight.value == pytest.approx(studio.base_style_weight)
    assert studio.preset.value == "classroom"


def test_studio_preset_turns_custom_when_a_setting_changes(studio):
    studio.apply_preset("preview")
    assert studio.preset.value == "preview"
    studio.steps.value = 7
    assert studio.preset.value == widgets.CUSTOM
    assert studio.steps.value == 7  # going back to custom changes nothing else
    studio.apply_preset("preview")
    studio.style_weight.value = 3 * studio.base_style_weight  # moves the strength too
    assert studio.preset.value == widgets.CUSTOM


def test_studio_unknown_preset_is_a_value_error(studio):
    with pytest.raises(ValueError, match="Unknown preset"):
        studio.apply_preset("best")
