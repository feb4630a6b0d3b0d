"""What the widgets share: limits, layouts, readable errors, upload checks, layer lists."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from nst_teach import plots
from nst_teach.core.vgg import BackboneWeights, layer_names

ERROR_STYLE = "color: #b00020"


MAX_MESSAGE_CHARACTERS = 400


LOAD_ERRORS = (ValueError, TypeError, OSError)


MAX_UPLOAD_BYTES = 20 * 1024 * 1024


GIVEN = "(given)"  # the picker entry of an image passed to the Studio


CUSTOM = "(custom)"  # the Preset menu's entry once a setting differs from the preset


IMAGE_SIZES = range(64, 512 + 1, 32)  # what the Studio's image-size slider offers


PREVIEW_WIDTH = "320px"


THUMBNAIL_WIDTH = "96px"


class _Displayable:
    """Lets a notebook display the object itself: it shows `self.widget`."""

    @property
    def widget(self) -> widgets.Widget:
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _show_png(image_widget: widgets.Image, figure) -> None:
    """Renders a matplotlib figure into an Image widget."""
    image_widget.format = "png"
    image_widget.value = plots.figure_to_png(figure)


def _error_html(text: str) -> str:
    return f'<span style="{ERROR_STYLE}">{html.escape(text)}</span>'


def picture_layout(width: str | None = None) -> widgets.Layout:
    """A layout that shows a picture at its own aspect ratio, even inside an HBox.

    A flex row stretches an `<img>` whose height is `auto` to the row's
    height (JupyterLab showed the Studio's preview narrow and tall): only the
    width is set, `align_self` stops the stretching, and `object_fit`
    keeps the ratio in whatever box the browser gives.

    Args:
        width: CSS width such as `"320px"`; `None` keeps the picture's own.
    """
    return widgets.Layout(width=width, height="auto", object_fit="contain",
                          align_self="flex-start")


def readable_error(error: BaseException) -> str:
    """One line for a person: the error's type and its (shortened) message."""
    message = " ".join(str(error).split()) or "(no message)"
    if len(message) > MAX_MESSAGE_CHARACTERS:
        message = message[:MAX_MESSAGE_CHARACTERS] + " ..."
    return f"{type(error).__name__}: {message}"


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """Reads `FileUpload.value` of ipywidgets 7 or 8 as `(file name, content)` pairs.

    ipywidgets 7 holds `{name: {"metadata": ..., "content": bytes}}`;
    ipywidgets 8 a tuple of dicts with `name` and `content` (a memoryview).
    """
    if isinstance(value, Mapping):
        return [(str(name), bytes(item["content"])) for name, item in value.items()]
    return [(str(item["name"]), bytes(item["content"])) for item in value]


def available_layers(weights: BackboneWeights) -> list[str]:
    """The convolution and pooling layers that `weights` can compute, in order."""
    names = []
    for name in layer_names(weights.backbone):
        if "conv" in name and name not in weights.convolutions:
            break
        names.append(name)
    return names


def style_layer_candidates(weights: BackboneWeights) -> list[str]:
    """The first convolution of each block (`blockN_conv1`) that `weights` can compute."""
    return [name for name in available_layers(weights) if name.endswith("_conv1")]


def content_layer_candidates(weights: BackboneWeights) -> list[str]:
    """The convolution layers that `weights` can compute."""
    return [name for name in available_layers(weights) if "_conv" in name]


def upload_size_problem(file_name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> str | None:
    """A sentence for a person if an upload is over `limit` bytes, else None."""
    if size <= limit:
        return None
    return (f"{file_name} is {size / 2**20:.1f} MB; files up to {limit / 2**20:.0f} MB are "
            "accepted: export a smaller JPEG or PNG and upload it again.")


def _check_weights(weights: Any) -> BackboneWeights:
    if not isinstance(weights, BackboneWeights):
        raise TypeError(f"weights must be a BackboneWeights, e.g. nst.load_weights('vgg16', "
                        f"'hed'), got {type(weights).__name__}.")
    return weights
