"""Exercise checks for the notebooks: ``check_xxx(your_function)`` prints one line and returns True/False.

In a notebook::

    from gannotes.checks import check_discriminator_loss, reference

    def discriminator_loss(real_logits, fake_logits):
        ...

    if not check_discriminator_loss(discriminator_loss):
        discriminator_loss = reference.discriminator_loss  # the notebook goes on with the reference

A check compares the learner's function with the package's reference on fixed random inputs, tests
its behaviour, and prints one line: ``✅ name passed:`` and what passed, ``❌ name failed:`` and exactly
what is wrong with a hint, or ``⏳ name pending:`` while the function still raises
``NotImplementedError`` (in words as well as marks). It never raises.

Modules, one per part of the course (:mod:`.core` holds the shared machinery):

- :mod:`.classical` - Bayes' rule in log space for a generative classifier (01)
- :mod:`.evaluation` - mode coverage on the 2-D mixtures (08), the Fréchet distance (10)
- :mod:`.losses`   - the BCE game, the WGAN-GP gradient penalty, ACGAN's D loss
- :mod:`.training` - one discriminator step, one generator step
- :mod:`.steps_scenario` - the scenario the step checks share (tiny models, one step, what it leaves)
- :mod:`.tips`     - instance noise, a wrapper around D (09)
- :mod:`.models`   - the DCGAN generator block and initialisation, the conditional generator's input
- :mod:`.reference` - the reference solutions under the exercise names
"""

from . import reference
from .classical import check_log_posterior
from .evaluation import check_frechet_distance, check_mode_metrics
from .losses import (
    check_acgan_discriminator_loss,
    check_discriminator_loss,
    check_generator_loss_non_saturating,
    check_generator_loss_saturating,
    check_gradient_penalty,
)
from .models import check_conditioned_inputs, check_generator_block, check_weights_init
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

__all__ = [
    "check_acgan_discriminator_loss",
    "check_cgan_d_step",
    "check_cgan_g_step",
    "check_conditioned_inputs",
    "check_discriminator_loss",
    "check_discriminator_step",
    "check_frechet_distance",
    "check_generator_block",
    "check_generator_loss_non_saturating",
    "check_generator_loss_saturating",
    "check_generator_step",
    "check_gradient_penalty",
    "check_instance_noise",
    "check_log_posterior",
    "check_mode_metrics",
    "check_weights_init",
    "check_wgan_d_step",
    "check_wgan_g_step",
    "check_wgan_gp_d_step",
    "reference",
]
