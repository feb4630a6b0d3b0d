"""The four steps of Gatys et al. (2016), as the lessons write them.

Read in this order (about 600 lines, docstrings included):

1. `images`: the image contract, resizing, VGG preprocessing (lesson 01).
2. `vgg`: the network written out, activations by layer name (lesson 02).
3. `gram`: the Gram matrix, the style statistic (lesson 03).
4. `losses`: content, style and total-variation losses and their weighted
   total, every term returned (lessons 04-05).
5. `loop`: SGD and Adam written out, one step, the plain loop (lesson 06).

Nothing here imports the rest of `nst_teach`: everything else (robust loading,
controls, memory saving, precision, L-BFGS, widgets, the CLI) is a layer on
top, each tested to give the same numbers as these functions when its options
are off. `docs/reading_the_code.md` maps each lesson step to its function.
"""

from nst_teach.core.gram import gram_matrix
from nst_teach.core.images import check_image, preprocess_for_vgg, resize_image
from nst_teach.core.loop import (
    SGD,
    TUTORIAL_ADAM,
    Adam,
    gradient_step,
    loss_and_gradient,
    run_style_transfer,
)
from nst_teach.core.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    content_loss,
    style_loss,
    style_transfer_loss,
    total_variation_loss,
    weighted_total,
)
from nst_teach.core.vgg import BackboneWeights, apply_layer, layer_names, vgg_features

__all__ = [
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
    "SGD",
    "TUTORIAL_ADAM",
    "Adam",
    "BackboneWeights",
    "apply_layer",
    "check_image",
    "content_loss",
    "gradient_step",
    "gram_matrix",
    "layer_names",
    "loss_and_gradient",
    "preprocess_for_vgg",
    "resize_image",
    "run_style_transfer",
    "style_loss",
    "style_transfer_loss",
    "total_variation_loss",
    "vgg_features",
    "weighted_total",
]
