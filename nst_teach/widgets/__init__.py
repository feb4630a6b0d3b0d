"""Interactive widgets for the lessons: thin views over the library.

Every picture comes from a pure function of `nst_teach.plots` (rendered to PNG
and shown in a `widgets.Image`, so ipympl is not needed) and every number from
the library (`FeatureExtractor`, `gram_matrix`, `style_loss`, `stylize`). Only
core ipywidgets are used, compatible with ipywidgets 7.7 (Colab) and 8.x.

* `LossPlot`: a `stylize` callback that redraws the loss curves while it runs.
* `ActivationExplorer`: pick an image, a layer and a channel; see what fires
  (optionally next to a second image's).
* `GramViewer`: the style's Gram matrix against an image's, layer by layer.
* `Studio`: the whole style transfer as a dashboard: image pickers and uploads,
  image size, loss layers, Run, Stop, Continue, Save.

Each object has a `.widget` to display; a notebook also displays the object
itself when it is the last expression of a cell.

Modules: `common`, `loss_plot`, `activations`, `gram_viewer`, `studio` (with
its logic, plain functions tested without ipywidgets, in `studio_logic`).
"""

from nst_teach.widgets.activations import RUN_IMAGE, ActivationExplorer, FollowRun
from nst_teach.widgets.common import (
    CUSTOM,
    ERROR_STYLE,
    GIVEN,
    MAX_UPLOAD_BYTES,
    PREVIEW_WIDTH,
    THUMBNAIL_WIDTH,
    available_layers,
    content_layer_candidates,
    picture_layout,
    readable_error,
    style_layer_candidates,
    upload_size_problem,
    uploaded_files,
)
from nst_teach.widgets.gram_viewer import GramViewer
from nst_teach.widgets.loss_plot import LossPlot
from nst_teach.widgets.studio import Studio

__all__ = ["ActivationExplorer", "CUSTOM", "ERROR_STYLE", "FollowRun", "GIVEN", "GramViewer",
           "LossPlot", "MAX_UPLOAD_BYTES", "PREVIEW_WIDTH", "RUN_IMAGE", "Studio", "THUMBNAIL_WIDTH", "available_layers",
           "content_layer_candidates", "picture_layout", "readable_error",
           "style_layer_candidates", "upload_size_problem", "uploaded_files"]
