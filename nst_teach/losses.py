"""The objective `stylize` minimizes: the core losses, with the controls on top.

`StyleTransferLoss` computes the content image's activations and the styles'
statistics once; calling it on an image returns every weighted term, assembled
by `core.losses.weighted_total`. With no controls (one style or a blend of
styles, Gram matrices, no masks, no `recompute`) each term is exactly
`core.content_loss`, `core.style_loss` and `core.total_variation_loss`, the
functions the lessons write. The controls of lessons 09 and 10 replace only the style
statistic (`nst_teach.statistics`, built on `core.gram_matrix`):

* several styles with blend weights w_k (summing to 1): the target is the
  blend of the styles' statistics, A = sum_k w_k A_k, as in Johnson's
  neural-style (`-style_blend_weights`);
* masks (guided Gram matrices, Gatys et al. 2017): style k is matched only
  where its mask is on, each region against its own style,
  style_l = sum_k w_k mean((G_l[mask_k] - A_lk)^2); where every mask is 0
  only the content and TV terms act;
* `style_statistic="mean_std"`: instead of Gram matrices, the per-channel
  mean and standard deviation (AdaIN, Huang & Belongie 2017), matched with
  mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2);
* `recompute=True` (memory saving): large layers are processed strip by strip
  and their statistics assembled from sums (`statistics.moment_sums`), so no
  full-resolution activation is kept for the gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.core.losses import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    content_loss,
    style_loss,
    total_variation_loss,
    weighted_total,
)
from nst_teach.core.vgg import BackboneWeights
from nst_teach.features import (
    FeatureExtractor,
    Reduction,
    layer_masks,
    minimum_image_side,
)
from nst_teach.statistics import (
    STYLE_STATISTICS,
    blend,
    moment_sums,
    statistics_distance,
    statistics_from_sums,
    style_statistics,
)

__all__ = ["DEFAULT_CONTENT_LAYERS", "DEFAULT_STYLE_LAYERS", "PAPER_LAYERS", "StyleTransferLoss",
           "blend_weights", "content_loss", "layer_weights", "style_loss",
           "total_variation_loss"]

# The layers of the papers and tutorials, in Keras' names (a Keras convolution
# includes its ReLU, so `block2_conv2` is the papers' relu2_2); every name
# exists in VGG16 and VGG19. `nst.stylize(content, style, **PAPER_LAYERS["johnson"])`.
PAPER_LAYERS = {
    # The TensorFlow tutorial's, nst_teach's default.
    "tutorial": {"content_layers": DEFAULT_CONTENT_LAYERS, "style_layers": DEFAULT_STYLE_LAYERS},
    # Gatys, Ecker & Bethge (2016): conv4_2 for content, conv1_1 to conv5_1 for style.
    "gatys": {"content_layers": ("block4_conv2",), "style_layers": DEFAULT_STYLE_LAYERS},
    # Johnson, Alahi & Fei-Fei (2016): relu2_2 for content, relu1_2, relu2_2, relu3_3
    # and relu4_3 for style.
    "johnson": {"content_layers": ("block2_conv2",),
                "style_layers": ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3")},
}


def blend_weights(num_styles: int, weights: Sequence[float] | None = None) -> list[float]:
    """Checks blend weights and normalises them to sum to 1 (equal by default).

    Raises:
        ValueError: If there is not one weight per style, a weight is negative
            or not finite, or they sum to 0.
    """
    if weights is None:
        return [1.0 / num_styles] * num_styles
    weights = [float(weight) for weight in np.atleast_1d(np.asarray(weights, dtype=float))]
    if len(weights) != num_styles:
        raise ValueError(f"style_blend_weights has {len(weights)} values for {num_styles} "
                         "style images: give one weight per style.")
    if not all(np.isfinite(weights)) or any(weight < 0 for weight in weights):
        raise ValueError(f"style_blend_weights must be finite numbers >= 0, got {weights}.")
    if sum(weights) == 0:
        raise ValueError("style_blend_weights sum to 0: give at least one style a weight > 0.")
    return [weight / sum(weights) for weight in weights]


def layer_weights(layers: Sequence[str] | Mapping[str, float]) -> dict[str, float]:
    """Turns a list of layers into equal weights `1 / N`; keeps a dict as given.

    Raises:
        ValueError: If there are no layers or a weight is negative.
    """
    if isinstance(layers, str):
        raise ValueError(f"Layers must be a list such as [{layers!r}], not a string.")
    if not isinstance(layers, Mapping):
        layers = list(layers)
        if not layers:
            raise ValueError("At least one layer is needed.")
        if len(set(layers)) != len(layers):
            raise ValueError(f"A layer is listed twice in {layers}; give each once "
                             "(use a dict of weights to weigh one layer more).")
        return {name: 1.0 / len(layers) for name in layers}
    if any(weight < 0 for weight in layers.values()):
        raise ValueError(f"Layer weights must be >= 0, got {dict(layers)}.")
    if not layers:
        raise ValueError("At least one layer is needed.")
    return {name: float(weight) for name, weight in layers.items()}


class StyleTransferLoss:
    """The weighted style-transfer objective for one content image and its styles.

    Computes the content image's activations and the styles' statistics (Gram
    matrices by default) once; calling the object on an image returns every
    loss term.

    Args:
        backbone_weights: The network's `BackboneWeights` (`nst.load_weights`).
        content_image: float32 `(1, H, W, 3)` in [0, 1].
        style_image: float32 `(1, H_s, W_s, 3)` in [0, 1], any size; or a list
            of such images (several styles).
        content_layers: Layer names (equal weights) or name to weight.
        style_layers: Layer names (equal weights) or name to weight.
        content_weight: Multiplies the content term.
        style_weight: Multiplies the style term.
        tv_weight: Multiplies the total-variation term.
        pooling: `"max"` or `"average"`, see `FeatureExtractor`.
        style_blend_weights: One weight >= 0 per style, normalised to sum to 1
            (default equal). Without masks they blend the styles' statistics;
            with masks they weigh the regions' terms.
        style_masks: `None`, or one entry per style: float32 `(1, H, W, 1)` in
            [0, 1] at the content image's size, or `None` (the whole image).
            Brought to each layer by `layer_masks`. Positions where every mask
            is 0 get no style term.
        style_statistic: `"gram"` or `"mean_std"`.
        recompute: Recompute activations during the backward pass instead of
            keeping them (`FeatureExtractor`), large blocks in strips; the style
            terms are computed strip by strip from sums (`moment_sums`), so no
            full-resolution activation is kept. Saves memory on large images;
            same values up to float rounding.
        precision: The dtype of the network's convolutions (`"float32"`,
            `"bfloat16"` or `"float16"`); activations, Gram matrices and every
            loss term stay float32. See `FeatureExtractor`.
    """

    def __init__(self, backbone_weights: BackboneWeights, content_image: tf.Tensor,
                 style_image: tf.Tensor | Sequence[tf.Tensor], *,
                 content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
                 content_weight: float = 1e4, style_weight: float = 1e-2,
                 tv_weight: float = 30.0, pooling: str = "max",
                 style_blend_weights: Sequence[float] | None = None,
                 style_masks: Sequence[tf.Tensor | None] | None = None,
                 style_statistic: str = "gram", recompute: bool = False,
                 precision: str = "float32"):
        if style_statistic not in STYLE_STATISTICS:
            raise ValueError(f"style_statistic must be 'gram' or 'mean_std', "
                             f"got {style_statistic!r}.")
        self.content_layers = layer_weights(content_layers)
        self.style_layers = layer_weights(style_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.style_statistic = style_statistic
        layers = list(dict.fromkeys([*self.content_layers, *self.style_layers]))
        self.extractor = FeatureExtractor(backbone_weights, layers, pooling=pooling,
                                          recompute=recompute, precision=precision)
        self.content_image = tf.convert_to_tensor(content_image, tf.float32).numpy()
        styles = list(style_image) if isinstance(style_image, (list, tuple)) else [style_image]
        if not styles:
            raise ValueError("At least one style image is needed.")
        self.style_images = [tf.convert_to_tensor(style, tf.float32).numpy() for style in styles]
        self.style_image = self.style_images[0]
        self.blend_weights = blend_weights(len(styles), style_blend_weights)
        self._check_sizes()
        # Transforms reduce each layer as soon as it is computed (see FeatureExtractor),
        # so that a large image's activations are not all kept at once.
        skip = Reduction(lambda features, rows: (), lambda sums: ())
        content_features = self.extractor(self.content_image, {
            name: skip for name in self.style_layers if name not in self.content_layers})
        self.content_targets = {name: content_features[name] for name in self.content_layers}
        statistics = self._statistics_transform()
        style_targets = [self.extractor(style, {name: statistics if name in self.style_layers
                                                else skip for name in self.extractor.layers})
                         for style in self.style_images]
        self.masks = self._layer_masks(style_masks)
        # The plain case, the lessons' objective: core.style_loss against one Gram matrix.
        self.plain = self.masks is None and style_statistic == "gram"
        if self.masks is None:  # Johnson's blend: one target, the weighted mean of the styles'
            self.style_targets = {name: blend([targets[name] for targets in style_targets],
                                              self.blend_weights)
                                  for name in self.style_layers}
        else:  # one target per style, compared within its region
            self.style_targets = {name: [targets[name] for targets in style_targets]
                                  for name in self.style_layers}

    def _statistics_transform(self):
        """A layer's activations to its style statistics; by strips with `recompute`."""
        if self.extractor.recompute:
            return Reduction(lambda features, rows: moment_sums(features),
                             lambda sums: statistics_from_sums(sums, self.style_statistic))
        return functools.partial(style_statistics, statistic=self.style_statistic)

    def _check_sizes(self) -> None:
        """Raises ValueError if an image is too small for the deepest layer."""
        smallest = minimum_image_side(self.extractor.backbone, self.extractor.layers)
        images = [("the content image", self.content_image)] + [
            (f"style image {index}", style) for index, style in enumerate(self.style_images)]
        for description, image in images:
            if min(image.shape[1:3]) < smallest:
                raise ValueError(
                    f"{description} is {image.shape[1]}x{image.shape[2]} px, too small for "
                    f"{self.extractor.network[-1]}, which needs at least {smallest} px per side: "
                    "use a larger image, size or style_scale, or shallower layers.")

    def _layer_masks(self, style_masks) -> list[dict] | None:
        """Each style's mask at each style layer (`None` entries become masks of ones)."""
        if style_masks is None:
            return None
        if len(style_masks) != len(self.style_images):
            raise ValueError(f"style_masks has {len(style_masks)} entries for "
                             f"{len(self.style_images)} style images: give one mask (or None "
                             "for the whole image) per style.")
        size = self.content_image.shape[1:3]
        masks = []
        for index, mask in enumerate(style_masks):
            mask = np.ones((1, *size, 1), np.float32) if mask is None else np.asarray(mask)
            if mask.shape != (1, *size, 1):
                raise ValueError(f"style_masks[{index}] has shape {mask.shape}; it must be "
                                 f"(1, {size[0]}, {size[1]}, 1), the content image's size "
                                 "(nst_teach.controls.check_masks converts and resizes masks).")
            at_layers = layer_masks(mask, self.extractor.backbone, list(self.style_layers))
            # A region too small to survive the poolings has no term at that layer (None).
            masks.append({name: value if float(tf.reduce_max(value)) > 0 else None
                          for name, value in at_layers.items()})
        return masks

    def settings(self) -> dict:
        """The objective's options, for records and plots."""
        return {"backbone": self.extractor.backbone, "weights": self.extractor.source,
                "pooling": self.extractor.pooling, "content_layers": dict(self.content_layers),
                "style_layers": dict(self.style_layers), "content_weight": self.content_weight,
                "style_weight": self.style_weight, "tv_weight": self.tv_weight,
                "style_statistic": self.style_statistic, "num_styles": len(self.style_images),
                "style_blend_weights": list(self.blend_weights),
                "style_masks": self.masks is not None,
                "precision": self.extractor.precision}

    def style_layer_loss(self, features: tf.Tensor, name: str) -> tf.Tensor:
        """The unweighted style term of one layer (blended, or summed over the regions).

        In the plain case, `core.style_loss(features, target_gram)`.
        """
        if self.plain:
            (target_gram,) = self.style_targets[name]
            return style_loss(features, target_gram)
        terms = [weight * statistics_distance(
                     style_statistics(features, self.style_statistic, mask), target)
                 for weight, mask, target in self._regions(name)]
        return tf.add_n(terms) if terms else tf.zeros((), tf.float32)

    def style_term(self, name: str):
        """The style term of one layer, applied inside the network's block.

        With `recompute`, a `Reduction` that the `FeatureExtractor` computes
        strip by strip; otherwise `style_layer_loss` itself.
        """
        if self.extractor.recompute:
            return Reduction(functools.partial(self._style_sums, name=name),
                             functools.partial(self._style_finish, name=name))
        return functools.partial(self.style_layer_loss, name=name)

    def _regions(self, name: str) -> list[tuple]:
        """`(weight, mask at the layer or None, target)` of each region with a term."""
        if self.masks is None:
            return [(1.0, None, self.style_targets[name])]
        return [(weight, masks[name], target) for weight, masks, target
                in zip(self.blend_weights, self.masks, self.style_targets[name])
                if weight > 0 and masks[name] is not None]

    def _style_sums(self, features: tf.Tensor, rows: slice, name: str) -> list:
        return [moment_sums(features, None if mask is None else mask[:, rows])
                for _, mask, _ in self._regions(name)]

    def _style_finish(self, sums: list, name: str) -> tf.Tensor:
        terms = [weight * statistics_distance(statistics_from_sums(region, self.style_statistic),
                                              target)
                 for (weight, _, target), region in zip(self._regions(name), sums)]
        return tf.add_n(terms) if terms else tf.zeros((), tf.float32)

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """Computes every weighted loss term for an image.

        Args:
            image: float32 `(1, H, W, 3)` in [0, 1], the content image's size.

        Returns:
            float32 scalars: `total`, `content`, `style`, `tv`, and one
            `content/<layer>` and `style/<layer>` per layer (`weighted_total`).
        """
        # Each style-only layer becomes its loss term inside the network's block.
        transforms = {name: self.style_term(name)
                      for name in self.style_layers if name not in self.content_layers}
        features = self.extractor(image, transforms)
        content_losses = {name: content_loss(features[name], target)
                          for name, target in self.content_targets.items()}
        style_losses = {name: features[name] if name in transforms
                        else self.style_layer_loss(features[name], name)
                        for name in self.style_layers}
        return weighted_total(content_losses, style_losses, total_variation_loss(image),
                              content_weight=self.content_weight, style_weight=self.style_weight,
                              tv_weight=self.tv_weight, content_layer_weights=self.content_layers,
                              style_layer_weights=self.style_layers)
