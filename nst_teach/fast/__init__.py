"""Fast style transfer: train a network once, then stylize any photo in one pass.

Optimizing pixels (`nst_teach.stylize`) takes seconds to minutes per picture.
Johnson et al. (2016, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution") instead train a feed-forward network
(`nst_teach.transformer`) for ONE style on many photos, with the same
perceptual loss: the content term compares the network's output with the
photo it was given, the style term compares its Gram matrices with the style
image's, and total variation keeps it smooth. Once trained, the network
stylizes a photo in milliseconds.

    model = nst.fast.build_transformer()                 # or let train() build it
    result = nst.fast.train(style, photos="offline", max_seconds=180)
    picture = nst.fast.apply_network(result.model, photo)     # (1, H, W, 3) in [0, 1]
    nst.fast.save(result.model, "starry.keras"); model = nst.fast.load("starry.keras")

Training runs under a `tf.distribute` strategy: `MirroredStrategy` when
TensorFlow sees several GPUs, else the default strategy, with the same code
(`strategy.scope()`, `strategy.run`). It saves checkpoints
(`tf.train.CheckpointManager`) and resumes from them; a Stop
(`threading.Event`) or Ctrl-C ends it after the current step and saves one.

Modules: `defaults` (per device, `TrainingSettings`), `loss` (`PerceptualLoss`),
`training` (`train`), `files` (`apply_network`, `save`, `load`), `pretrained`
(the shipped networks: `pretrained_styles`, `pretrained`).
"""

from nst_teach.fast.defaults import (
    CPU_DEFAULTS,
    GPU_DEFAULTS,
    TrainingSettings,
    default_settings,
)
from nst_teach.fast.files import (
    apply_network,
    load,
    save,
)
from nst_teach.fast.loss import (
    TRAINING_LOSS_WEIGHTS,
    PerceptualLoss,
    training_loss_weights,
)
from nst_teach.fast.pretrained import (
    pretrained,
    pretrained_for_sample,
    pretrained_info,
    pretrained_path,
    pretrained_styles,
)
from nst_teach.fast.training import (
    Previews,
    TrainingResult,
    choose_strategy,
    train,
)
from nst_teach.photos import PHOTO_DATASETS
from nst_teach.transformer import build_transformer

__all__ = [
    "CPU_DEFAULTS",
    "GPU_DEFAULTS",
    "PHOTO_DATASETS",
    "TRAINING_LOSS_WEIGHTS",
    "PerceptualLoss",
    "Previews",
    "TrainingResult",
    "TrainingSettings",
    "apply_network",
    "build_transformer",
    "choose_strategy",
    "default_settings",
    "load",
    "pretrained",
    "pretrained_for_sample",
    "pretrained_info",
    "pretrained_path",
    "pretrained_styles",
    "save",
    "train",
    "training_loss_weights",
]
