"""Arbitrary style transfer in one pass: AdaIN (Huang & Belongie 2017).

Where `nst.fast` trains one network per style, AdaIN trains one decoder for
every style: the encoder (VGG up to `block3_conv1`) turns content and style into
activations, adaptive instance normalization gives the content's activations the
style's per-channel means and standard deviations, and the decoder paints them.

    picture = nst.adain.stylize(content, style, alpha=0.8)       # the shipped decoder
    model = nst.adain.load_model()                                # load once, reuse
    blend = nst.adain.stylize(content, [style_a, style_b], style_weights=[0.3, 0.7],
                              model=model)
    result = nst.adain.train_decoder(max_seconds=600)             # train your own
    nst.adain.save_decoder(result, "decoder.keras")

Modules: `decoder` (`build_decoder`), `model` (`AdaINModel`, `load_model`,
`stylize`), `styles` (offline training styles, held-out styles), `training`
(`train_decoder`, `save_decoder`). The statistics and losses are in
`nst_teach.core.adain`.
"""

from nst_teach.adain.decoder import build_decoder
from nst_teach.adain.model import (
    SHIPPED_DECODER,
    AdaINModel,
    decoder_metadata,
    load_model,
    stylize,
)
from nst_teach.adain.styles import heldout_style, heldout_style_names, offline_styles
from nst_teach.adain.training import ADAIN_DEFAULTS, save_decoder, train_decoder
from nst_teach.core.adain import (
    adain_content_loss,
    adain_style_loss,
    adaptive_instance_normalization,
    channel_mean_std,
)

__all__ = [
    "ADAIN_DEFAULTS",
    "SHIPPED_DECODER",
    "AdaINModel",
    "adain_content_loss",
    "adain_style_loss",
    "adaptive_instance_normalization",
    "build_decoder",
    "channel_mean_std",
    "decoder_metadata",
    "heldout_style",
    "heldout_style_names",
    "load_model",
    "offline_styles",
    "save_decoder",
    "stylize",
    "train_decoder",
]
