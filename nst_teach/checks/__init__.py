"""Exercise checks: compare a student's function with nst_teach's own.

Each check runs the student's function and the reference on the same inputs,
prints whether the results are exact, close, or how far apart they are, and a
hint when they are not close. It never prints the answer. Every check returns
True when the student's result is close enough, so a cell can also
`assert nst.checks.check_gram_matrix(gram_matrix)`.

In the spirit of Karpathy's `cmp(name, dt, t)` from nn-zero-to-hero.

Modules: `compare` (the report), `steps` (lessons 00-06, 09, 10), `objective`
(the weighted style loss, the total loss, the Adam loop and L-BFGS' two-loop
recursion of lessons 04-07), `runs` (08, 11, 12).
"""

from nst_teach.checks.compare import (
    compare,
    compare_shapes,
)
from nst_teach.checks.objective import (
    check_adam_loop,
    check_total_loss,
    check_two_loop,
    check_weighted_style_loss,
)
from nst_teach.checks.runs import (
    check_adain,
    check_adain_target,
    check_instance_normalization,
    check_strength_to_weights,
    check_style_weight,
    check_upsample_nearest,
    style_loss_reduction,
)
from nst_teach.checks.steps import (
    check_adam_step,
    check_content_loss,
    check_feature_shapes,
    check_gradient_step,
    check_gram_matrix,
    check_grayscale,
    check_guided_gram_matrix,
    check_match_luminance,
    check_mean_std,
    check_resize_to_max_size,
    check_style_loss,
    check_total_variation_loss,
)

__all__ = [
    "check_adain",
    "check_adain_target",
    "check_adam_loop",
    "check_adam_step",
    "check_content_loss",
    "check_feature_shapes",
    "check_gradient_step",
    "check_gram_matrix",
    "check_grayscale",
    "check_guided_gram_matrix",
    "check_instance_normalization",
    "check_match_luminance",
    "check_mean_std",
    "check_resize_to_max_size",
    "check_strength_to_weights",
    "check_style_loss",
    "check_style_weight",
    "check_total_loss",
    "check_total_variation_loss",
    "check_two_loop",
    "check_upsample_nearest",
    "check_weighted_style_loss",
    "compare",
    "compare_shapes",
    "style_loss_reduction",
]
