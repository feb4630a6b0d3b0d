"""The controls of `stylize` (lessons 09 and 10): checking and preparing their inputs.

Everything here is plain NumPy and Pillow on images in the project's contract
(float32 `(1, H, W, 3)` in [0, 1]) and masks (float32 `(1, H, W, 1)` in
[0, 1]); `stylize` and `compute_losses` call these functions, and the losses
themselves live in `nst_teach.losses`.

* Several styles: `as_style_list`; their blend weights are checked by
  `nst_teach.losses.blend_weights`.
* Masks (guided Gram matrices): `check_masks` accepts `(H, W)`, `(H, W, 1)`,
  `(1, H, W)` or `(1, H, W, 1)` arrays, float in [0, 1] or bool, and resizes a
  mask of another size with the same aspect ratio (bilinear, `nst_teach.masks.resize_mask`).
* Style scale: `scale_style` resizes the style relative to the output, as
  Johnson's neural-style `-style_scale` does.
* Coarse to fine: `stage_shapes` and `steps_per_stage` plan the stages.
* Colour preservation (Gatys et al. 2017): `prepare_colors` changes the
  inputs before optimizing and `restore_colors` the result after.

`prepare_inputs` does the checks and colour preparation once per run, and
`stage_loss` builds the objective at one stage's size.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nst_teach.core.images import RANGE_TOLERANCE
from nst_teach.core.vgg import BackboneWeights
from nst_teach.images import check_image, load_image, resize_image
from nst_teach.losses import StyleTransferLoss, blend_weights
from nst_teach.masks import resize_mask

if TYPE_CHECKING:  # settings builds on this module's checks
    from nst_teach.settings import ControlSettings

PRESERVE_COLORS = (None, "luminance", "color_matching")
COLOR_MATCHING_METHODS = ("mean_covariance", "histogram")
# A mask of another size is resized when its aspect ratio is within this
# fraction of the content's (rounding when images are shrunk), else refused.
MASK_ASPECT_TOLERANCE = 0.02


def as_style_list(style: Any) -> list:
    """Returns the style images as a list: one image becomes `[image]`.

    Args:
        style: One image (array, path, URL, bytes) or a list or tuple of them.

    Raises:
        ValueError: If the list is empty.
    """
    if isinstance(style, (list, tuple)):
        if not style:
            raise ValueError("style is an empty list: give at least one style image.")
        return list(style)
    return [style]


def longer_side_shape(shape: Sequence[int], longer_side: int) -> tuple[int, int]:
    """The `(height, width)` with this longer side and the aspect ratio of `shape`.

    Args:
        shape: `(height, width)` or an image shape `(1, height, width, 3)`.
        longer_side: Pixels of the longer side, a positive int.
    """
    height, width = (shape[1], shape[2]) if len(shape) == 4 else shape
    scale = longer_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def scale_style(style: np.ndarray, output_shape: Sequence[int], style_scale: float) -> np.ndarray:
    """Resizes a style image relative to the output (Johnson's `-style_scale`).

    The style's longer side becomes `style_scale` times the output's longer
    side, its aspect ratio kept. A larger scale gives larger brush strokes and
    patterns in the output: the network's filters see a fixed number of pixels,
    and in a larger style image each pattern spans more of them.

    Args:
        style: float32 `(1, H_s, W_s, 3)` in [0, 1].
        output_shape: The output's `(height, width)` or image shape.
        style_scale: A finite number > 0; 1 gives the style the output's
            longer side.

    Returns:
        float32 `(1, H', W', 3)` in [0, 1] (the style itself if already that size).

    Raises:
        ValueError: If `style_scale` is not a finite number > 0.
    """
    check_style_scale(style_scale)
    height, width = (output_shape[1], output_shape[2]) if len(output_shape) == 4 else output_shape
    longer_side = max(1, round(style_scale * max(height, width)))
    shape = longer_side_shape(style.shape, longer_side)
    return style if shape == tuple(style.shape[1:3]) else resize_image(style, shape)


def check_style_scale(style_scale: Any) -> float:
    """Returns `style_scale` as a float, or raises ValueError unless it is finite and > 0."""
    if (isinstance(style_scale, bool) or not isinstance(style_scale, numbers.Real)
            or not math.isfinite(style_scale) or style_scale <= 0):
        raise ValueError(f"style_scale must be a number > 0 (1 gives the style the output's "
                         f"size, 0.5 half of it), got {style_scale!r}.")
    return float(style_scale)


def check_masks(masks: Any, num_styles: int, size: Sequence[int]) -> list | None:
    """Checks style masks and brings them to the content image's size.

    Args:
        masks: `None`, or a list with one entry per style: `None` (the style
            everywhere) or an array `(H, W)`, `(H, W, 1)`, `(1, H, W)` or
            `(1, H, W, 1)`, float in [0, 1] or bool. With one style a single
            array is accepted too. A mask of another size but the same aspect
            ratio is resized (bilinear).
        num_styles: How many style images there are.
        size: The content image's `(height, width)`.

    Returns:
        `None`, or a list of `None` and float32 `(1, H, W, 1)` arrays in [0, 1].

    Raises:
        ValueError: For a wrong number of masks, a wrong shape, dtype or range,
            another aspect ratio, or a mask that is 0 everywhere.
    """
    if masks is None:
        return None
    if isinstance(masks, np.ndarray) or hasattr(masks, "numpy"):
        if num_styles != 1:
            raise ValueError(f"style_masks must be a list with one mask per style "
                             f"({num_styles} styles), got a single array.")
        masks = [masks]
    masks = list(masks)
    if len(masks) != num_styles:
        raise ValueError(f"style_masks has {len(masks)} entries for {num_styles} style images: "
                         "give one mask per style (None for 'everywhere').")
    return [None if mask is None else _check_mask(mask, f"style_masks[{index}]", size)
            for index, mask in enumerate(masks)]


def _check_mask(mask: Any, name: str, size: Sequence[int]) -> np.ndarray:
    array = np.asarray(mask)
    if array.ndim == 4 and array.shape[0] == 1 and array.shape[-1] == 1:
        array = array[0, :, :, 0]
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 3 and array.shape[-1] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{name} has shape {np.shape(mask)}; expected (1, H, W, 1), (1, H, W), "
                         "(H, W, 1) or (H, W) with one value per pixel (nst_teach.masks builds "
                         "masks; load_mask reads one from an image).")
    if array.dtype == np.bool_:
        array = array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} has dtype {array.dtype}; expected float values in [0, 1] or "
                         "bool (divide 0..255 values by 255).")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; expected [0, 1].")
    if array.min() < -RANGE_TOLERANCE or array.max() > 1.0 + RANGE_TOLERANCE:
        raise ValueError(f"{name} has values from {array.min():.4g} to {array.max():.4g}; "
                         "expected [0, 1] (use np.clip(mask, 0, 1), or divide 0..255 by 255).")
    array = np.clip(array, 0.0, 1.0)
    if array.max() == 0.0:
        raise ValueError(f"{name} is 0 everywhere, so its style would appear nowhere: draw a "
                         "region, or leave that style out.")
    if array.shape != tuple(size):
        aspect, content_aspect = array.shape[1] / array.shape[0], size[1] / size[0]
        if abs(aspect / content_aspect - 1.0) > MASK_ASPECT_TOLERANCE:
            raise ValueError(f"{name} is {array.shape[0]}x{array.shape[1]} (height x width) but "
                             f"the content image is {size[0]}x{size[1]}, another shape: draw the "
                             "mask at the content's size (e.g. nst_teach.masks.half_mask(size)).")
        array = resize_mask(array[None, :, :, None], size)[0, :, :, 0]
    return array[None, :, :, None]


def check_sizes(sizes: Any) -> list[int] | None:
    """Checks the coarse-to-fine sizes: increasing positive ints, such as (256, 512, 1024).

    Raises:
        ValueError: If `sizes` is empty, holds a non-integer or a value <= 0,
            or does not increase.
    """
    if sizes is None:
        return None
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = [sizes]
    sizes = list(sizes)
    if not sizes or not all(isinstance(size, (int, np.integer)) and not isinstance(size, bool)
                            and size > 0 for size in sizes):
        raise ValueError(f"sizes must be the longer side of each stage in pixels, positive whole "
                         f"numbers such as (256, 512, 1024), got {sizes!r}.")
    if any(later <= earlier for earlier, later in itertools.pairwise(sizes)):
        raise ValueError(f"sizes must increase from coarse to fine, such as (256, 512, 1024), "
                         f"got {sizes!r}.")
    return [int(size) for size in sizes]


def stage_shapes(content_shape: Sequence[int], sizes: list[int] | None) -> list[tuple[int, int]]:
    """The `(height, width)` of each stage: the content's aspect ratio, longer side `sizes[i]`.

    Without sizes, one stage at the content image's own size.
    """
    if sizes is None:
        return [tuple(int(side) for side in content_shape[1:3])]
    return [longer_side_shape(content_shape, size) for size in sizes]


def steps_per_stage(num_steps: Any, num_stages: int) -> list[int]:
    """Steps of each stage: an int (the same for every stage) or one per stage.

    Raises:
        ValueError: If a value is not a whole number >= 0, or a list has the
            wrong length.
    """
    values = list(num_steps) if isinstance(num_steps, (list, tuple)) else [num_steps] * num_stages
    if len(values) != num_stages:
        raise ValueError(f"num_steps has {len(values)} values for {num_stages} stages (sizes): "
                         "give one per stage, or a single number for all.")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"num_steps must be a whole number >= 0, got {num_steps!r}.")
    return [int(value) for value in values]


def check_color_options(preserve_colors: Any, color_matching_method: Any) -> None:
    """Raises ValueError for an unknown `preserve_colors` or `color_matching_method`."""
    if preserve_colors not in PRESERVE_COLORS:
        raise ValueError(f"preserve_colors must be None, 'luminance' or 'color_matching', "
                         f"got {preserve_colors!r}.")
    if color_matching_method not in COLOR_MATCHING_METHODS:
        raise ValueError(f"color_matching_method must be 'mean_covariance' or 'histogram', "
                         f"got {color_matching_method!r}.")


def prepare_colors(content: np.ndarray, styles: list[np.ndarray], preserve_colors: str | None,
                   color_matching_method: str = "mean_covariance"
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Changes the inputs so that the result keeps the content's colours (Gatys et al. 2017).

    * `None`: unchanged.
    * `"luminance"` (luminance-only transfer): the content becomes its
      luminance, and each style its luminance shifted and scaled to the
      content's luminance mean and standard deviation
      (`nst_teach.color.match_luminance`), as grey RGB images; the optimized
      grey image gets the content's colour back in `restore_colors`.
    * `"color_matching"`: each style is recoloured to the content's colour
      statistics (`nst_teach.color.match_colors`, `color_matching_method`
      `"mean_covariance"` or `"histogram"`); the content is unchanged.

    Args:
        content: float32 `(1, H, W, 3)` in [0, 1].
        styles: float32 `(1, H_s, W_s, 3)` images in [0, 1].
        preserve_colors: `None`, `"luminance"` or `"color_matching"`.
        color_matching_method: See above.

    Returns:
        `(content, styles)` to optimize with.
    """
    check_color_options(preserve_colors, color_matching_method)
    if preserve_colors is None:
        return content, styles
    from nst_teach import color

    if preserve_colors == "luminance":
        return (check_image(color.luminance_image(content), "luminance"),
                [check_image(color.match_luminance(style, content), "style luminance")
                 for style in styles])
    return content, [check_image(color.match_colors(style, content, method=color_matching_method),
                                 "recoloured style") for style in styles]


def restore_colors(image: np.ndarray, content: np.ndarray,
                   preserve_colors: str | None) -> np.ndarray:
    """Gives an optimized image the content's colours back, where `prepare_colors` took them.

    With `"luminance"`: the image's luminance Y with the content's colour
    channels I and Q (YIQ, `nst_teach.color.combine_luminance`), the content
    resized to the image's size if needed. Otherwise the image unchanged.

    Args:
        image: float32 `(1, H, W, 3)` in [0, 1], the optimized image.
        content: The original content image, any size with the same aspect.
        preserve_colors: As given to `prepare_colors`.

    Returns:
        float32 `(1, H, W, 3)` in [0, 1].
    """
    if preserve_colors != "luminance":
        return image
    from nst_teach import color

    if content.shape != image.shape:
        content = resize_image(content, tuple(image.shape[1:3]))
    return check_image(color.combine_luminance(image, content), "recoloured image")


def as_image(source: Any, name: str) -> np.ndarray:
    """Loads a path, URL or bytes with `load_image`; checks an array with `check_image`."""
    if isinstance(source, (str, os.PathLike, bytes)):
        return load_image(source)
    return check_image(source, name)


@dataclasses.dataclass
class StyleInputs:
    """The images of a run, checked and colour-prepared (see `prepare_inputs`).

    Attributes:
        original_content: The content image as given, float32 `(1, H, W, 3)`.
        content: The content image to optimize against (its luminance with
            `preserve_colors="luminance"`).
        styles: The style images, prepared likewise (any sizes).
        masks: `None`, or one `None` or float32 `(1, H, W, 1)` mask per style,
            at the content's size.
        blend_weights: One weight per style, summing to 1 (`blend_weights`).
        style_scale: The style's size relative to the output (`scale_style`).
    """

    original_content: np.ndarray
    content: np.ndarray
    styles: list
    masks: list | None
    blend_weights: list
    style_scale: float = 1.0


def prepare_inputs(content, style, control: ControlSettings) -> StyleInputs:
    """Loads and checks the images and masks, and prepares the colours, once per run.

    Args:
        content: The content image (array, path, URL or bytes).
        style: A style image or a list of them.
        control: The `nst_teach.settings.ControlSettings` of the run.

    See `check_masks`, `blend_weights` and `prepare_colors`.
    """
    original = as_image(content, "content")
    styles = as_style_list(style)
    styles = [as_image(image, "style" if len(styles) == 1 else f"style[{index}]")
              for index, image in enumerate(styles)]
    weights = blend_weights(len(styles), control.style_blend_weights)
    masks = check_masks(control.style_masks, len(styles), original.shape[1:3])
    prepared, styles = prepare_colors(original, styles, control.preserve_colors,
                                      control.color_matching_method)
    return StyleInputs(original, prepared, styles, masks, weights, control.style_scale)


def stage_loss(backbone_weights: BackboneWeights, inputs: StyleInputs, shape: tuple[int, int],
               **loss_options) -> StyleTransferLoss:
    """The objective at one size: content and masks resized to `shape`, styles scaled to it.

    Args:
        backbone_weights: Loaded weights (reused by every stage).
        inputs: From `prepare_inputs`.
        shape: The output's `(height, width)` at this stage.
        **loss_options: Passed to `StyleTransferLoss` (layers, loss weights,
            pooling, style_statistic, recompute, precision:
            `LossSettings.loss_options`).
    """
    content = inputs.content
    if tuple(content.shape[1:3]) != tuple(shape):
        content = resize_image(content, shape)
    styles = [scale_style(style, shape, inputs.style_scale) for style in inputs.styles]
    masks = None if inputs.masks is None else [
        None if mask is None else resize_mask(mask, shape) for mask in inputs.masks]
    return StyleTransferLoss(backbone_weights, content, styles, style_masks=masks,
                             style_blend_weights=inputs.blend_weights, **loss_options)
