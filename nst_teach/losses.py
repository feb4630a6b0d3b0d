"""Losses: content, style (per layer), total variation, and their weighted sum.

The default conventions are those of the TensorFlow core style-transfer
tutorial, so its weights mean the same here:

    content = content_weight / num_content_layers * sum_l mean((F_l - P_l)^2)
    style   = style_weight   / num_style_layers   * sum_l mean((G_l - A_l)^2)
    tv      = tv_weight * tf.image.total_variation(image)
    total   = content + style + tv

where F are the image's activations, P the content image's, G the Gram
matrices of F and A those of the style image. Every term is returned, already
weighted, so that `total == content + style + tv` and `style` is the sum of the
per-layer terms `style/<layer>`.

Controls (lesson 08), all options of `StyleTransferLoss`:

* several styles with blend weights w_k (summing to 1): the target is the
  blend of the styles' statistics, A = sum_k w_k A_k, as in Johnson's
  neural-style (`-style_blend_weights`);
* masks (guided Gram matrices, Gatys et al. 2017): style k is matched only
  where its mask is on, each region against its own style,
  style_l = sum_k w_k mean((G_l[mask_k] - A_lk)^2); where every mask is 0
  only the content and TV terms act;
* `style_statistic="mean_std"`: instead of Gram matrices, the per-channel
  mean and standard deviation (AdaIN, Huang & Belongie 2017), matched with
  mean((mu - mu_s)^2) + mean((sigma - sigma_s)^2).

`style_statistics` is the plain definition of the statistics; the objective
computes the same values from sums over positions (`statistic_sums`,
`statistics_from_sums`), which add up over strips of rows: with
`checkpoint=True` large layers are processed strip by strip to save memory.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from nst_teach.features import (
    BackboneWeights,
    FeatureExtractor,
    Reduction,
    layer_masks,
    minimum_image_side,
)
from nst_teach.gram import STD_EPSILON, gram_matrix, guided_gram_matrix, mean_std

DEFAULT_CONTENT_LAYERS = ("block5_conv2",)
DEFAULT_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1",
                        "block4_conv1", "block5_conv1")
STYLE_STATISTICS = ("gram", "mean_std")


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between two layers' activations.

    Args:
        features: float32 `(1, H, W, C)`, the image's activations.
        target: float32 `(1, H, W, C)`, the content image's activations.

    Returns:
        A float32 scalar `mean((features - target)^2)`.
    """
    return tf.reduce_mean(tf.square(features - target))


def style_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between a layer's Gram matrix and the style's.

    Args:
        features: float32 `(1, H, W, C)`, the image's activations.
        target_gram: float32 `(1, C, C)`, the style image's Gram matrix.

    Returns:
        A float32 scalar `mean((gram_matrix(features) - target_gram)^2)`.
    """
    return tf.reduce_mean(tf.square(gram_matrix(features) - target_gram))


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute differences between neighbouring pixels.

    Equal to `tf.reduce_sum(tf.image.total_variation(image))`, written out.
    Large when the image is noisy; zero when it is flat.

    Args:
        image: float32 `(batch, H, W, 3)` in [0, 1].

    Returns:
        A float32 scalar.
    """
    vertical = image[:, 1:, :, :] - image[:, :-1, :, :]
    horizontal = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_sum(tf.abs(vertical)) + tf.reduce_sum(tf.abs(horizontal))


def style_statistics(features: tf.Tensor, statistic: str = "gram",
                     mask: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
    """The statistics the style term compares, for one layer.

    Args:
        features: float32 `(1, H, W, C)` activations.
        statistic: `"gram"` (a `(1, C, C)` Gram matrix) or `"mean_std"` (two
            `(1, C)` tensors, per-channel mean and standard deviation).
        mask: Optional `(1, H, W, 1)` in [0, 1]: only the region it covers
            counts (`guided_gram_matrix`, or weighted mean and std).

    Returns:
        A tuple of float32 tensors: `(gram,)` or `(mean, std)`.
    """
    if statistic == "mean_std":
        return mean_std(features, mask)
    return (gram_matrix(features) if mask is None else guided_gram_matrix(features, mask),)


def statistic_sums(features: tf.Tensor, statistic: str = "gram",
                   mask: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
    """Sums over positions from which `style_statistics` follow (`statistics_from_sums`).

    Gram: `(sum m F F^T, sum m)`; mean_std: `(sum m F, sum m F^2, sum m)`, with
    `m = 1` without a mask. Sums of strips of rows add up to the whole layer's,
    which lets `FeatureExtractor` compute a large layer strip by strip.

    Args:
        features: float32 `(1, H, W, C)` activations.
        statistic: `"gram"` or `"mean_std"`.
        mask: Optional `(1, H, W, 1)` in [0, 1].
    """
    features = tf.cast(features, tf.float32)
    if mask is None:
        weight = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
        weighted = features
    else:
        weight = tf.reduce_sum(mask)
        weighted = features * mask
    if statistic == "gram":
        return tf.einsum("bijc,bijd->bcd", weighted, features), weight
    return (tf.reduce_sum(weighted, axis=[1, 2]), tf.reduce_sum(weighted * features, axis=[1, 2]),
            weight)


def statistics_from_sums(sums: Sequence[tf.Tensor], statistic: str = "gram") -> tuple:
    """The statistics of `style_statistics` from `statistic_sums` (0 for an empty region).

    For mean_std the variance is `E[F^2] - E[F]^2` (clipped at 0), plus AdaIN's
    epsilon before the square root, as in `nst_teach.gram.mean_std`.
    """
    if statistic == "gram":
        products, weight = sums
        return (tf.math.divide_no_nan(products, weight),)
    total, squares, weight = sums
    mean = tf.math.divide_no_nan(total, weight)
    variance = tf.maximum(tf.math.divide_no_nan(squares, weight) - tf.square(mean), 0.0)
    return mean, tf.sqrt(variance + STD_EPSILON)


def statistics_distance(statistics: Sequence[tf.Tensor], targets: Sequence[tf.Tensor]) -> tf.Tensor:
    """Sum over the statistics of the mean squared difference to the target.

    For Gram matrices this is `style_loss`; for `(mean, std)` it is
    `mean((mean - mean_s)^2) + mean((std - std_s)^2)`: AdaIN's style loss
    (Huang & Belongie 2017, eq. 13) with means of squares instead of norms.
    """
    return tf.add_n([tf.reduce_mean(tf.square(value - target))
                     for value, target in zip(statistics, targets)])


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


def blend(statistics: Sequence[tuple[tf.Tensor, ...]], weights: Sequence[float]) -> tuple:
    """The weighted mean of several styles' statistics, statistic by statistic."""
    return tuple(tf.add_n([weight * values[index] for weight, values in zip(weights, statistics)])
                 for index in range(len(statistics[0])))


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
        weights: The backbone's `BackboneWeights`.
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
        checkpoint: Gradient checkpointing in the `FeatureExtractor`, large
            blocks in strips; the style terms are computed strip by strip from
            sums (`statistic_sums`), so no full-resolution activation is kept.
            Saves memory on large images; same values up to float rounding.
        compute_dtype: The dtype of the network's convolutions (`"float32"`,
            `"bfloat16"` or `"float16"`); activations, Gram matrices and every
            loss term stay float32. See `FeatureExtractor`.
    """

    def __init__(self, weights: BackboneWeights, content_image: tf.Tensor,
                 style_image: tf.Tensor | Sequence[tf.Tensor], *,
                 content_layers: Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
                 content_weight: float = 1e4, style_weight: float = 1e-2,
                 tv_weight: float = 30.0, pooling: str = "max",
                 style_blend_weights: Sequence[float] | None = None,
                 style_masks: Sequence[tf.Tensor | None] | None = None,
                 style_statistic: str = "gram", checkpoint: bool = False,
                 compute_dtype: str = "float32"):
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
        self.extractor = FeatureExtractor(weights, layers, pooling=pooling, checkpoint=checkpoint,
                                          compute_dtype=compute_dtype)
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
        statistics = Reduction(
            lambda features, rows: statistic_sums(features, style_statistic),
            lambda sums: statistics_from_sums(sums, style_statistic))
        style_targets = [self.extractor(style, {name: statistics if name in self.style_layers
                                                else skip for name in self.extractor.layers})
                         for style in self.style_images]
        self.masks = self._layer_masks(style_masks)
        if self.masks is None:  # Johnson's blend: one target, the weighted mean of the styles'
            self.style_targets = {name: blend([targets[name] for targets in style_targets],
                                              self.blend_weights)
                                  for name in self.style_layers}
        else:  # one target per style, compared within its region
            self.style_targets = {name: [targets[name] for targets in style_targets]
                                  for name in self.style_layers}

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
                "precision": self.extractor.compute_dtype}

    def style_layer_loss(self, features: tf.Tensor, name: str) -> tf.Tensor:
        """The unweighted style term of one layer (blended, or summed over the regions)."""
        return self.style_term(name)(features)

    def style_term(self, name: str) -> Reduction:
        """The style term of one layer as a `Reduction`, so it can be computed by strips."""
        return Reduction(functools.partial(self._style_sums, name=name),
                         functools.partial(self._style_finish, name=name))

    def _regions(self, name: str) -> list[tuple]:
        """`(weight, mask at the layer or None, target)` of each region with a term."""
        if self.masks is None:
            return [(1.0, None, self.style_targets[name])]
        return [(weight, masks[name], target) for weight, masks, target
                in zip(self.blend_weights, self.masks, self.style_targets[name])
                if weight > 0 and masks[name] is not None]

    def _style_sums(self, features: tf.Tensor, rows: slice, name: str) -> list:
        return [statistic_sums(features, self.style_statistic,
                               None if mask is None else mask[:, rows])
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
            `content/<layer>` and `style/<layer>` per layer.
        """
        # Each style-only layer becomes its loss term inside the network's block.
        transforms = {name: self.style_term(name)
                      for name in self.style_layers if name not in self.content_layers}
        features = self.extractor(image, transforms)
        terms = {}
        for name, weight in self.content_layers.items():
            loss = content_loss(features[name], self.content_targets[name])
            terms[f"content/{name}"] = self.content_weight * weight * loss
        for name, weight in self.style_layers.items():
            loss = features[name] if name in transforms else self.style_layer_loss(
                features[name], name)
            terms[f"style/{name}"] = self.style_weight * weight * loss
        content = tf.add_n([terms[f"content/{name}"] for name in self.content_layers])
        style = tf.add_n([terms[f"style/{name}"] for name in self.style_layers])
        tv = self.tv_weight * total_variation_loss(image)
        return {"total": content + style + tv, "content": content, "style": style,
                "tv": tv, **terms}
