"""nst_teach: learn neural style transfer one explicit step at a time.

Import it as `import nst_teach as nst`. Images are float32 NumPy arrays of
shape `(1, H, W, 3)`, RGB, in [0, 1], everywhere.
"""

from nst_teach import config as _config

# The only two things importing nst_teach changes, both switchable (see nst_teach.config):
_config.return_freed_memory()  # glibc returns freed blocks at once; NST_TEACH_MALLOC=0 skips it
_config.quiet_tensorflow_logs()  # TF_CPP_MIN_LOG_LEVEL=2 unless you set it

from nst_teach import (  # noqa: E402
    adain,  # noqa: E402  (after the core and fast: it builds on both)
    checks,
    classify,
    color,
    controls,  # noqa: E402
    core,  # noqa: E402
    estimate,
    fast,  # noqa: E402  (after the core: it builds on it)
    masks,
    plots,
    presets,  # noqa: E402
    profiles,
    settings,  # noqa: E402
)
from nst_teach.backbone_weights import load_weights  # noqa: E402
from nst_teach.callbacks import Callback, Filmstrip, PrintLosses, ProgressBar, Run  # noqa: E402
from nst_teach.config import cache_dir, fast_mode  # noqa: E402
from nst_teach.core import gram_matrix  # noqa: E402
from nst_teach.core.images import (  # noqa: E402
    check_image,
    preprocess_for_vgg,  # noqa: E402
    resize_image,
)
from nst_teach.core.losses import (  # noqa: E402
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    content_loss,
    style_loss,
    total_variation_loss,
)
from nst_teach.core.vgg import BackboneWeights, layer_names  # noqa: E402
from nst_teach.estimate import CostEstimate, MemoryBudgetWarning, estimate_cost  # noqa: E402
from nst_teach.features import FeatureExtractor, layer_channels, receptive_field  # noqa: E402
from nst_teach.images import load_image, resize_to_max_size, save_image, show_images  # noqa: E402
from nst_teach.lbfgs import LBFGS  # noqa: E402
from nst_teach.losses import PAPER_LAYERS, StyleTransferLoss  # noqa: E402
from nst_teach.optimize import StyleTransferResult, compute_losses, device_name, stylize  # noqa: E402
from nst_teach.result import OptimizerState  # noqa: E402
from nst_teach.profiles import Profile, current_profile, use_profile  # noqa: E402
from nst_teach.samples import (  # noqa: E402
    credits,
    list_samples,
    sample_credit,
    sample_image,
    sample_names,
)
from nst_teach.settings import default_loss_weights  # noqa: E402
from nst_teach.statistics import guided_gram_matrix, mean_std  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BackboneWeights",
    "Callback",
    "CostEstimate",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
    "FeatureExtractor",
    "Filmstrip",
    "LBFGS",
    "MemoryBudgetWarning",
    "PAPER_LAYERS",
    "PrintLosses",
    "Profile",
    "ProgressBar",
    "Run",
    "StyleTransferLoss",
    "StyleTransferResult",
    "OptimizerState",
    "cache_dir",
    "check_image",
    "adain",
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
    "sample_credit",
    "sample_image",
    "sample_names",
    "save_image",
    "settings",
    "show_images",
    "style_loss",
    "stylize",
    "total_variation_loss",
    "use_profile",
]
