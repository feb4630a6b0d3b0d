"""Solutions to every coding exercise of the lessons, as a student would write them.

Each function has the name and signature of the lesson's exercise cell, so
`make_solutions.py` can put its source in place of the "TODO" and the lesson's own
check then runs on it. `tests/test_instructors.py` runs every check on these
solutions and executes the solved notebooks. Keep them short and plain: they are
what an instructor shows on the screen.
"""

import numpy as np
import tensorflow as tf

import nst_teach as nst

# --- 00 Welcome ---------------------------------------------------------------------------


def to_grayscale(image):
    """The image in shades of gray: each pixel's channels replaced by their mean."""
    mean = np.mean(image, axis=-1, keepdims=True)  # (1, H, W, 1)
    return np.repeat(mean, 3, axis=-1)  # (1, H, W, 3) again


# --- 01 Images as tensors -----------------------------------------------------------------


def resize_to_max_size(image, max_size):
    """Shrinks `image` (1, H, W, 3) so that its longer side is at most `max_size`."""
    height, width = image.shape[1], image.shape[2]
    longer = max(height, width)
    if longer <= max_size:
        return image
    scale = max_size / longer
    return nst.resize_image(image, (round(height * scale), round(width * scale)))


# --- 02 What a CNN sees: VGG keeps the size through a block's convolutions ("same"
# padding) and halves it at each pooling; the channels are 64, 128, 256, 512, 512.

FEATURE_SHAPES_224 = {
    "block1_conv2": (224, 224, 64),
    "block2_pool": (56, 56, 128),  # two poolings: 224 / 4
    "block3_conv1": (56, 56, 256),
    "block5_conv1": (14, 14, 512),  # four poolings: 224 / 16
}


# --- 03 Content ---------------------------------------------------------------------------


def content_loss(features, target):
    return tf.reduce_mean(tf.square(features - target))


# --- 04 Style as statistics ---------------------------------------------------------------


def gram_matrix(features):
    num_positions = tf.cast(features.shape[1] * features.shape[2], tf.float32)
    products = tf.einsum("bijc,bijd->bcd", features, features)  # sum over positions i, j
    return products / num_positions


def style_loss(features, target_gram):
    return tf.reduce_mean(tf.square(gram_matrix(features) - target_gram))


# --- 05 Losses and gradients --------------------------------------------------------------


def total_variation_loss(image):
    down = image[:, 1:, :, :] - image[:, :-1, :, :]
    right = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_sum(tf.abs(down)) + tf.reduce_sum(tf.abs(right))


def weighted_style_loss(features, style_targets, layer_weights):
    return sum(weight * nst.style_loss(features[layer], style_targets[layer])
               for layer, weight in layer_weights.items())


def total_loss(image, features, content_targets, style_targets, content_weight, style_weight,
               tv_weight):
    content = tf.add_n([nst.content_loss(features[layer], target)
                        for layer, target in content_targets.items()]) / len(content_targets)
    style = tf.add_n([nst.style_loss(features[layer], target)
                      for layer, target in style_targets.items()]) / len(style_targets)
    return (content_weight * content + style_weight * style
            + tv_weight * total_variation_loss(image))


# --- 06 Gradient descent on pixels --------------------------------------------------------


def gradient_step(image, gradient, learning_rate):
    return tf.clip_by_value(image - learning_rate * gradient, 0.0, 1.0)


def adam_step(image, gradient, m, v, step, learning_rate, beta_1, beta_2, epsilon):
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * tf.square(gradient)
    rate = learning_rate * (1 - beta_2**step) ** 0.5 / (1 - beta_1**step)
    image = tf.clip_by_value(image - rate * m / (tf.sqrt(v) + epsilon), 0.0, 1.0)
    return image, m, v


def adam_loop(loss_function, start_image, num_steps, learning_rate):
    image = tf.Variable(start_image)
    m, v = tf.zeros_like(start_image), tf.zeros_like(start_image)
    for step in range(1, num_steps + 1):
        with tf.GradientTape() as tape:
            loss = loss_function(image)["total"]
        gradient = tape.gradient(loss, image)
        new_image, m, v = adam_step(image, gradient, m, v, step, learning_rate,
                                    beta_1=0.9, beta_2=0.9, epsilon=0.1)
        image.assign(new_image)
    return image.numpy()


# --- 07 Optimizers and starting points ----------------------------------------------------


def two_loop(gradient, steps, changes):
    steps, changes = np.asarray(steps, np.float64), np.asarray(changes, np.float64)
    rho = 1.0 / np.sum(steps * changes, axis=1)
    alpha = np.zeros(len(steps))
    q = np.asarray(gradient, np.float64)
    for i in reversed(range(len(steps))):  # newest to oldest
        alpha[i] = rho[i] * steps[i] @ q
        q = q - alpha[i] * changes[i]
    r = (steps[-1] @ changes[-1]) / (changes[-1] @ changes[-1]) * q
    for i in range(len(steps)):  # oldest to newest
        beta = rho[i] * changes[i] @ r
        r = r + (alpha[i] - beta) * steps[i]
    return r


# --- 08 Style transfer --------------------------------------------------------------------


def choose_style_weight(style_fall, start_weight, low=0.5, high=0.8, max_runs=12):
    """Bisects log(style weight) until `style_fall(weight)` is in [low, high].

    `style_fall(weight)` runs the optimization and returns the fraction by which the
    style term fell; it grows with the weight. Each run costs a few seconds.
    """
    smaller, larger, weight = None, None, start_weight
    for _ in range(max_runs):
        fall = style_fall(weight)
        if low <= fall <= high:
            return weight
        if fall < low:
            smaller = weight
        else:
            larger = weight
        if smaller is None:
            weight = larger / 10
        elif larger is None:
            weight = smaller * 10
        else:
            weight = (smaller * larger) ** 0.5
    return weight


def strength_to_weights(strength, loss_weights):
    return {**loss_weights, "style_weight": strength * loss_weights["style_weight"]}


# --- 09 Colours and regions ---------------------------------------------------------------


def match_luminance(style, content):
    def luminance(image):
        return 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]

    style_y, content_y = luminance(np.asarray(style)), luminance(np.asarray(content))
    spread = content_y.std() / style_y.std() if style_y.std() > 0 else 0.0
    matched = np.clip(spread * (style_y - style_y.mean()) + content_y.mean(), 0.0, 1.0)
    return np.repeat(matched[..., None], 3, axis=-1).astype(np.float32)


def guided_gram_matrix(features, mask):
    weighted = tf.einsum("bijc,bijd->bcd", features * mask, features)  # sum of m F F^T
    return weighted / tf.reduce_sum(mask)


# --- 10 Scale and statistics --------------------------------------------------------------


def mean_std_statistics(features):
    mean = tf.reduce_mean(features, axis=(1, 2))  # (1, C)
    variance = tf.reduce_mean(tf.square(features), axis=(1, 2)) - tf.square(mean)
    return mean, tf.sqrt(variance + 1e-5)


# --- 11 Fast style transfer ---------------------------------------------------------------


def instance_normalization(x):
    mean, variance = tf.nn.moments(x, axes=(1, 2), keepdims=True)  # per image and channel
    return (x - mean) / tf.sqrt(variance + 1e-5)


def upsample_nearest(x):
    return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


# --- 12 AdaIN -----------------------------------------------------------------------------


def adain(content_features, style_features):
    content_mean, content_variance = tf.nn.moments(content_features, axes=(1, 2), keepdims=True)
    style_mean, style_variance = tf.nn.moments(style_features, axes=(1, 2), keepdims=True)
    normalized = (content_features - content_mean) / tf.sqrt(content_variance + 1e-5)
    return tf.sqrt(style_variance + 1e-5) * normalized + style_mean


def adain_target(content_features, styles, style_weights, alpha):
    blend = sum(weight * adain(content_features, style)
                for weight, style in zip(style_weights, styles))
    return alpha * blend + (1 - alpha) * content_features
