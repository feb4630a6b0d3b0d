"""nst_teach: learn neural style transfer one explicit step at a time.

Import it as `import nst_teach as nst`. Images are float32 NumPy arrays of
shape `(1, H, W, 3)`, RGB, in [0, 1], everywhere.
"""

from nst_teach import config as _config

_config.return_freed_memory()  # before TensorFlow allocates: see its docstring
_config.start_tensorflow_quietly()

from nst_teach import checks, plots  # noqa: E402
from nst_teach import color, masks  # noqa: E402
from nst_teach.callbacks import Callback, PrintLosses, ProgressBar, Run  # noqa: E402
from nst_teach.config import cache_dir, fast_mode  # noqa: E402
from nst_teach.core.images import preprocess_for_vgg  # noqa: E402
from nst_teach.core.vgg import BackboneWeights, layer_names  # noqa: E402
from nst_teach.features import (  # noqa: E402
    FeatureExtractor,
    layer_channels,
    load_weights,
    receptive_field,
)
from nst_teach import controls  # noqa: E402
from nst_teach import core  # noqa: E402
from nst_teach.core import gram_matrix  # noqa: E402
from nst_teach.statistics import guided_gram_matrix, mean_std  # noqa: E402
from nst_teach.core.images import check_image, resize_image  # noqa: E402
from nst_teach.images import load_image, resize_to_max_size, save_image, show_images  # noqa: E402
from nst_teach.lbfgs import LBFGS  # noqa: E402
from nst_teach.core.losses import (  # noqa: E402
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    content_loss,
    style_loss,
    total_variation_loss,
)
from nst_teach.losses import StyleTransferLoss  # noqa: E402
from nst_teach.optimize import (  # noqa: E402
    StyleTransferResult,
    compute_losses,
    default_loss_weights,
    device_name,
    stylize,
)
from nst_teach.samples import credits, list_samples, sample_image, sample_names  # noqa: E402
from nst_teach import presets  # noqa: E402
from nst_teach import estimate, profiles  # noqa: E402
from nst_teach.estimate import CostEstimate, MemoryBudgetWarning, estimate_cost  # noqa: E402
from nst_teach.profiles import Profile, current_profile, use_profile  # noqa: E402

from nst_teach import fast  # noqa: E402  (after the core: it builds on it)

__version__ = "0.1.0"

__all__ = [
    "BackboneWeights",
    "Callback",
    "CostEstimate",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
    "FeatureExtractor",
    "LBFGS",
    "MemoryBudgetWarning",
    "PrintLosses",
    "Profile",
    "ProgressBar",
    "Run",
    "StyleTransferLoss",
    "StyleTransferResult",
    "cache_dir",
    "check_image",
    "checks",
    "color",
    "controls",
    "core",
    "compute_losses",
    "content_loss",
    "credits",
    "current_profile",
    "default_loss_weights",
    "device_name",
    "estimate",
    "estimate_cost",
    "fast",
    "fast_mode",
    "gram_matrix",
    "guided_gram_matrix",
    "layer_channels",
    "layer_names",
    "list_samples",
    "load_image",
    "load_weights",
    "masks",
    "mean_std",
    "plots",
    "preprocess_for_vgg",
    "presets",
    "profiles",
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
    "use_profile",
]
