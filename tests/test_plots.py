"""Tests of nst_teach.plots: pure figure functions, no TensorFlow needed."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from nst_teach import plots


def relu_activations(rng, height=8, width=10, channels=12):
    return np.maximum(rng.normal(size=(1, height, width, channels)), 0.0).astype(np.float32)


def gram_of(activations):
    features = activations[0].reshape(-1, activations.shape[-1])
    return (features.T @ features / len(features))[None]


def block_gram(rng):
    """A Gram matrix with two groups of channels that fire together, shuffled."""
    base = rng.uniform(0.0, 1.0, (200, 2))
    groups = np.repeat(base, [5, 7], axis=1) + 0.05 * rng.uniform(size=(200, 12))
    permutation = rng.permutation(12)
    features = groups[:, permutation]
    return features.T @ features / 200, permutation


def decode_png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


def test_figure_to_png_gives_png_bytes():
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([0, 1], [1, 0])
    assert decode_png(plots.figure_to_png(figure)) == (100, 50)
    assert decode_png(plots.figure_to_png(figure, dpi=100)) == (200, 100)


def test_figure_to_png_rejects_other_objects():
    with pytest.raises(TypeError, match="matplotlib Figure"):
        plots.figure_to_png("figure")


def test_most_active_channels_matches_numpy(rng):
    activations = relu_activations(rng)
    expected = np.argsort(-activations.mean(axis=(0, 1, 2)))[:5].tolist()
    assert plots.most_active_channels(activations, 5) == expected
    assert len(plots.most_active_channels(activations, 12)) == 12


@pytest.mark.parametrize("count", [0, 13, 2.5])
def test_most_active_channels_rejects_bad_counts(rng, count):
    with pytest.raises(ValueError, match="from 1 to 12"):
        plots.most_active_channels(relu_activations(rng), count)


def test_most_active_channels_rejects_bad_shapes(rng):
    with pytest.raises(ValueError, match=r"\(1, H, W, C\)"):
        plots.most_active_channels(rng.normal(size=(8, 8, 3)), 1)


def test_plot_activations_draws_one_axes_per_channel(rng):
    activations = relu_activations(rng)
    figure = plots.plot_activations(activations, channels=[0, 3, 5], columns=2, title="layer")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 3
    assert figure.axes[1].get_title().startswith("3 ")
    assert figure._suptitle.get_text() == "layer"
    decode_png(plots.figure_to_png(figure))


def test_plot_activations_defaults_to_the_most_active_channels(rng):
    activations = relu_activations(rng, channels=40)
    figure = plots.plot_activations(activations)
    assert len(figure.axes) == plots.DEFAULT_CHANNEL_COUNT
    first = int(figure.axes[0].get_title().split()[0])
    assert first == plots.most_active_channels(activations, 1)[0]


def test_plot_activations_handles_dead_channels():
    figure = plots.plot_activations(np.zeros((1, 4, 4, 2), np.float32), channels=[0, 1])
    assert [axis.get_title().split()[0] for axis in figure.axes] == ["0", "1"]
    for axis in figure.axes:  # an all-zero channel is drawn as zeros, not NaN or noise
        shown = np.asarray(axis.images[0].get_array())
        assert shown.shape == (4, 4) and np.all(np.isfinite(shown)) and np.all(shown == 0)
    width, height = decode_png(plots.figure_to_png(figure))
    assert width > 0 and height > 0


def test_plot_activations_rejects_missing_channels(rng):
    with pytest.raises(ValueError, match="has 12 channels"):
        plots.plot_activations(relu_activations(rng), channels=[12])


def test_plot_channel_comparison_shares_one_colour_scale(rng):
    first = relu_activations(rng, height=8, width=10)
    second = 3.0 * relu_activations(rng, height=6, width=6)
    figure = plots.plot_channel_comparison([first, second], 4, titles=["cat", "dog"],
                                           title="block1_conv1, channel 4")
    panels = [axes for axes in figure.axes if axes.images]
    assert len(panels) == 2 and len(figure.axes) == 3  # two panels and a colour bar
    expected = max(first[..., 4].max(), second[..., 4].max())
    for axes, activations in zip(panels, (first, second)):
        assert axes.images[0].get_clim() == pytest.approx((0.0, expected))
        assert axes.images[0].get_array().shape == activations.shape[1:3]
    assert panels[0].get_title().startswith("cat (")
    assert panels[1].get_title() == f"dog ({second[..., 4].mean():.3g})"
    assert figure._suptitle.get_text() == "block1_conv1, channel 4"
    width, height = decode_png(plots.figure_to_png(figure))
    assert width > height


def test_plot_receptive_field_marks_the_activation_and_boxes_the_pixels(rng):
    image = rng.uniform(0, 1, (1, 40, 60, 3)).astype(np.float32)
    activations = relu_activations(rng, 10, 15, 8)
    figure = plots.plot_receptive_field(image, activations, 3, (2, 5), (4, 14, 17, 27),
                                        title="block2_conv2")
    channel_axes, image_axes = figure.axes
    assert channel_axes.lines[0].get_xdata()[0] == 5 and channel_axes.lines[0].get_ydata()[0] == 2
    rectangle = image_axes.patches[0]
    assert (rectangle.get_x(), rectangle.get_y()) == (13.5, 3.5)
    assert (rectangle.get_width(), rectangle.get_height()) == (14, 14)
    assert "rows 4-17, columns 14-27" in image_axes.get_title()
    with pytest.raises(ValueError, match=r"Position \(10, 0\) is outside the 10 x 15"):
        plots.plot_receptive_field(image, activations, 0, (10, 0), (0, 0, 1, 1))
    with pytest.raises(ValueError, match="Channel 8 does not exist"):
        plots.plot_receptive_field(image, activations, 8, (0, 0), (0, 0, 1, 1))


def test_plot_channel_comparison_handles_dead_channels():
    figure = plots.plot_channel_comparison([np.zeros((1, 4, 4, 3))] * 2, 0)
    assert [axes.get_title() for axes in figure.axes[:2]] == ["image 1 (0)", "image 2 (0)"]
    decode_png(plots.figure_to_png(figure))


@pytest.mark.parametrize("arguments, message", [
    (([], 0), "at least one image"),
    (([np.ones((1, 4, 4, 3)), np.ones((1, 4, 4, 5))], 0), "different channel counts"),
    (([np.ones((1, 4, 4, 3))], 3), "0 to 2"),
    (([np.ones((1, 4, 4, 3))], 0, ["a", "b"]), "2 titles for 1 images"),
])
def test_plot_channel_comparison_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_channel_comparison(*arguments)


def test_gram_channel_order_is_a_permutation(rng):
    gram = gram_of(relu_activations(rng, channels=30))
    order = plots.gram_channel_order(gram)
    assert order.dtype.kind == "i"
    assert sorted(order.tolist()) == list(range(30))


def test_gram_channel_order_groups_channels_that_fire_together(rng):
    gram, permutation = block_gram(rng)
    order = plots.gram_channel_order(gram)
    group = (permutation[order] >= 5).astype(int)  # original group of each ordered channel
    assert np.count_nonzero(np.diff(group)) == 1  # one contiguous block per group


def test_gram_channel_order_puts_dead_channels_last(rng):
    activations = relu_activations(rng, channels=6)
    activations[..., [1, 4]] = 0.0
    order = plots.gram_channel_order(gram_of(activations))
    assert order[-2:].tolist() == [1, 4]
    assert sorted(order.tolist()) == list(range(6))


def test_gram_channel_order_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        plots.gram_channel_order(np.ones((3, 4)))


def test_plot_gram_draws_heatmap_and_colorbar(rng):
    gram = gram_of(relu_activations(rng))
    figure = plots.plot_gram(gram, title="block1", order=plots.gram_channel_order(gram))
    assert len(figure.axes) == 2
    assert figure.axes[0].get_title() == "block1"
    decode_png(plots.figure_to_png(figure))


def test_plot_gram_applies_the_order(rng):
    gram = gram_of(relu_activations(rng))[0]
    order = rng.permutation(12)
    figure = plots.plot_gram(gram, order=order)
    shown = figure.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, gram[np.ix_(order, order)])


def test_plot_gram_rejects_a_bad_order(rng):
    with pytest.raises(ValueError, match="permutation"):
        plots.plot_gram(gram_of(relu_activations(rng)), order=[0, 0, 1])


def test_plot_gram_comparison_shows_the_loss_and_difference(rng):
    style = gram_of(relu_activations(rng))
    image = gram_of(relu_activations(rng))
    figure = plots.plot_gram_comparison(style, image, loss=0.125, layer="block1_conv1",
                                        order=None)
    assert len(figure.axes) == 5  # three heatmaps, two colour bars
    title = figure._suptitle.get_text()
    assert "0.125" in title and "block1_conv1" in title
    difference = figure.axes[2].images[0]
    np.testing.assert_allclose(difference.get_array(), (image - style)[0], rtol=1e-6)
    assert difference.norm.vcenter == 0.0
    decode_png(plots.figure_to_png(figure))


def test_plot_gram_comparison_rejects_different_shapes(rng):
    with pytest.raises(ValueError, match="differ in shape"):
        plots.plot_gram_comparison(np.eye(3), np.eye(4))


def make_history(steps=20, layers=("block1_conv1", "block2_conv1")):
    history = []
    for step in range(steps):
        record = {"step": step, "content": 0.0 if step == 0 else 1.0 - 1.0 / step,
                  "tv": 0.5, "style": 0.0}
        for layer in layers:
            record[f"style/{layer}"] = 10.0 / (step + 1)
            record["style"] += record[f"style/{layer}"]
        record["total"] = record["content"] + record["style"] + record["tv"]
        history.append(record)
    return history


def test_plot_losses_draws_every_term():
    figure = plots.plot_losses(make_history())
    assert len(figure.axes) == 2
    totals, layers = figure.axes
    assert [line.get_label() for line in totals.lines] == ["total", "content", "style", "tv"]
    assert [line.get_label() for line in layers.lines] == ["block1_conv1", "block2_conv1"]
    assert totals.get_yscale() == "log"
    np.testing.assert_array_equal(totals.lines[0].get_xdata(), np.arange(20))
    decode_png(plots.figure_to_png(figure))


def test_plot_losses_linear_single_panel():
    figure = plots.plot_losses(make_history(), log_scale=False, per_layer=False)
    assert len(figure.axes) == 1
    assert figure.axes[0].get_yscale() == "linear"


def test_plot_losses_accepts_an_empty_history():
    figure = plots.plot_losses([])
    assert len(figure.axes) == 2
    decode_png(plots.figure_to_png(figure))


def test_plot_losses_needs_steps():
    with pytest.raises(ValueError, match="'step'"):
        plots.plot_losses([{"total": 1.0}])


def test_plot_losses_against_seconds_and_a_subset_of_terms():
    history = [{**record, "time": 0.5 * record["step"] + 2.0} for record in make_history()]
    figure = plots.plot_losses(history, x_axis="time", terms=["total", "style"])
    terms_axes, layers_axes = figure.axes
    assert [line.get_label() for line in terms_axes.lines] == ["total", "style"]
    np.testing.assert_array_equal(terms_axes.lines[0].get_xdata(),
                                  [record["time"] for record in history])
    assert terms_axes.get_xlabel() == "seconds" and layers_axes.get_xlabel() == "seconds"
    assert plots.plot_losses(history).axes[0].get_xlabel() == "step"


@pytest.mark.parametrize("options, message", [
    ({"x_axis": "epoch"}, "x_axis must be 'step' or 'time'"),
    ({"terms": ["total", "styles"]}, "terms must be a list"),
    ({"terms": "total"}, "terms must be a list"),
])
def test_plot_losses_refuses_unknown_axes_and_terms(options, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_losses(make_history(), **options)


def test_plot_losses_needs_the_time_to_plot_against_it():
    with pytest.raises(ValueError, match="needs a 'time'"):
        plots.plot_losses(make_history(), x_axis="time")


def test_plot_loss_comparison_draws_one_line_per_run():
    fast = [{**record, "time": 0.1 * record["step"]} for record in make_history()]
    slow = [{**record, "time": 0.3 * record["step"]} for record in make_history(10)]
    figure = plots.plot_loss_comparison({"adam": fast, "lbfgs": slow}, term="style")
    (axes,) = figure.axes
    assert [line.get_label() for line in axes.lines] == ["adam", "lbfgs"]
    np.testing.assert_allclose(axes.lines[1].get_xdata(), [record["time"] for record in slow])
    np.testing.assert_allclose(axes.lines[1].get_ydata(), [record["style"] for record in slow])
    assert axes.get_xlabel() == "seconds" and axes.get_yscale() == "log"
    with pytest.raises(ValueError, match="at least one run"):
        plots.plot_loss_comparison({})
    with pytest.raises(ValueError, match="term must be one of"):
        plots.plot_loss_comparison({"adam": fast}, term="styles")


def test_plot_style_shares_labels_each_layer_with_its_percentage():
    figure = plots.plot_style_shares({"style/block1_conv1": 3.0, "style/block2_conv1": 1.0})
    (axes,) = figure.axes
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["block1_conv1",
                                                                     "block2_conv1"]
    np.testing.assert_allclose([bar.get_height() for bar in axes.patches], [75.0, 25.0])
    assert [text.get_text() for text in axes.texts] == ["75 %", "25 %"]
    with pytest.raises(ValueError, match="term >= 0"):
        plots.plot_style_shares({"block1_conv1": -1.0})


def test_signed_gram_views_get_a_diverging_colour_map(rng):
    signed = rng.normal(size=(6, 6))
    signed = signed + signed.T
    figure = plots.plot_gram_comparison(signed, signed * 0.5, view="centred")
    assert figure.axes[0].images[0].get_cmap().name == plots.DIFFERENCE_COLORMAP
    assert "centred" in figure._suptitle.get_text()
    positive = plots.plot_gram_comparison(np.abs(signed), np.abs(signed))
    assert positive.axes[0].images[0].get_cmap().name == plots.GRAM_COLORMAP


def test_rank_channels_by_mean_max_and_difference(rng):
    activations = relu_activations(rng)
    other = relu_activations(rng, height=5, width=7)  # another size: means still compare
    flat, other_flat = activations[0].reshape(-1, 12), other[0].reshape(-1, 12)
    assert plots.rank_channels(activations, 4) == plots.most_active_channels(activations, 4)
    assert plots.rank_channels(activations, 4, by="max") == list(
        np.argsort(-flat.max(axis=0), kind="stable")[:4])
    difference = np.abs(flat.mean(axis=0) - other_flat.mean(axis=0))
    assert plots.rank_channels(activations, 4, by="difference", other=other) == list(
        np.argsort(-difference, kind="stable")[:4])
    with pytest.raises(ValueError, match="pass the other image"):
        plots.rank_channels(activations, 4, by="difference")
    with pytest.raises(ValueError, match="by must be one of"):
        plots.rank_channels(activations, 4, by="median")
    with pytest.raises(ValueError, match="same layer"):
        plots.rank_channels(activations, 4, by="difference", other=activations[..., :5])
