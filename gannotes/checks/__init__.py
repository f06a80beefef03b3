"""Exercise checks: ``check_xxx(your_function)`` prints one line (passed, failed with a hint, or pending) and
returns True or False; it never raises. A notebook goes on with ``reference.xxx`` until yours passes::

    if not check_discriminator_loss(discriminator_loss):
        discriminator_loss = reference.discriminator_loss

Machinery in :mod:`.core`; the checks by topic in :mod:`.classical` (01), :mod:`.game` (02), :mod:`.losses`
(02, 06, 07), :mod:`.training` (the D and G steps of 03, 05, 07), :mod:`.models` (04, 05), :mod:`.evaluation`
(08, 10), :mod:`.isotropic` (10) and :mod:`.tips` (09).
"""

# ruff: noqa: F401 - the names below are this package's public face

from . import reference
from .classical import check_log_posterior
from .derivations import check_class_vectors
from .evaluation import check_mode_metrics
from .game import check_adversarial_g_step, check_generator_loss_gradients, check_optimal_discriminator_logit
from .isotropic import check_isotropic_frechet_distance
from .losses import (
    check_acgan_discriminator_loss,
    check_discriminator_loss,
    check_gradient_penalty,
)
from .models import check_generator_block, check_weights_init
from .tips import check_instance_noise
from .training import (
    check_cgan_d_step,
    check_cgan_g_step,
    check_discriminator_step,
    check_generator_step,
    check_wgan_d_step,
    check_wgan_g_step,
    check_wgan_gp_d_step,
)
