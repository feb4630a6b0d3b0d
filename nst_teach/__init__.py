"""nst_teach: learn neural style transfer one explicit step at a time.

Import it as `import nst_teach as nst`. Images are float32 NumPy arrays of
shape `(1, H, W, 3)`, RGB, in [0, 1], everywhere.
"""

from nst_teach import config as _config

_config.return_freed_memory()  # before TensorFlow allocates: see its docstring
_config.start_tensorflow_quietly()

from nst_teach import checks, plots  # noqa: E402
from nst_teach.callbacks import Callback, PrintLosses, ProgressBar, Run  # noqa: E402
from nst_teach.config import cache_dir, fast_mode  # noqa: E402
from nst_teach.features import (  # noqa: E402
    BackboneWeights,
    FeatureExtractor,
    layer_channels,
    layer_names,
    load_weights,
    preprocess_for_vgg,
    receptive_field,
)
from nst_teach.gram import gram_matrix  # noqa: E402
from nst_teach.images import (  # noqa: E402
    check_image,
    load_image,
    resize_image,
    resize_to_max_size,
    save_image,
    show_images,
)
from nst_teach.lbfgs import LBFGS  # noqa: E402
from nst_teach.losses import (  # noqa: E402
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    StyleTransferLoss,
    content_loss,
    style_loss,
    total_variation_loss,
)
from nst_teach.optimize import (  # noqa: E402
    StyleTransferResult,
    compute_losses,
    default_loss_weights,
    device_name,
    stylize,
)
from nst_teach.samples import credits, list_samples, sample_image, sample_names  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BackboneWeights",
    "Callback",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
    "FeatureExtractor",
    "LBFGS",
    "PrintLosses",
    "ProgressBar",
    "Run",
    "StyleTransferLoss",
    "StyleTransferResult",
    "cache_dir",
    "check_image",
    "checks",
    "compute_losses",
    "content_loss",
    "credits",
    "default_loss_weights",
    "device_name",
    "fast_mode",
    "gram_matrix",
    "layer_channels",
    "layer_names",
    "list_samples",
    "load_image",
    "load_weights",
    "plots",
    "preprocess_for_vgg",
    "receptive_field",
    "resize_image",
    "resize_to_max_size",
    "sample_image",
    "sample_names",
    "save_image",
    "show_images",
    "style_loss",
    "stylize",
    "total_variation_loss",
]
