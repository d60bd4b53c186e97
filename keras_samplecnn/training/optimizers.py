"""The papers' optimizer: SGD with Nesterov momentum and Keras 2's per-step inverse-time decay."""

from keras_samplecnn import registration
import keras
from keras import ops

from keras_samplecnn.layers.sample_conv import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class StepDecaySGD(keras.optimizers.SGD):
    """SGD whose rate decays with every step: `lr_t = learning_rate / (1 + step_decay * t)`.

    Keras 2's `SGD(decay=...)` did this and Keras 3 dropped the argument. The authors' code
    trains every stage with a fresh `SGD(lr, momentum=0.9, decay=1e-6, nesterov=True)`
    (tae-jun/resemul `train.py`, tae-jun/sampleaudio `train.py`, jongpillee/sampleCNN
    `lrdecay = 1e-6`), so `t` counts the steps of the current stage: `StagedDecay` resets
    `iterations` (and the momentum) when a stage begins. The `learning_rate` variable stays
    the stage's rate and can be assigned; the decay is applied on top of it.

    Args:
        learning_rate: the undecayed rate.
        momentum: momentum factor.
        nesterov: Nesterov momentum.
        step_decay: per-step decay (1e-6 in the papers' code; 0 for plain SGD).
        **kwargs: other `keras.optimizers.SGD` arguments.

    Example:
    >>> optimizer = StepDecaySGD(0.01, momentum=0.9, nesterov=True, step_decay=1e-6)

    References: Lee et al., SMC 2017 (arXiv:1703.01789); Kim, Lee, Nam, ICASSP 2018
    (arXiv:1710.10451).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, step_decay=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)
        if step_decay < 0:
            raise ValueError(f"step_decay must be >= 0, got {step_decay}")
        self.step_decay = float(step_decay)

    def decayed_rate(self, learning_rate):
        """`learning_rate / (1 + step_decay * iterations)` (the rate of the current step)."""
        if not self.step_decay:
            return learning_rate
        steps = ops.cast(self.iterations, "float32")
        return ops.cast(learning_rate, "float32") / (1.0 + self.step_decay * steps)

    def update_step(self, gradient, variable, learning_rate):
        rate = ops.cast(self.decayed_rate(learning_rate), variable.dtype)
        super().update_step(gradient, variable, rate)

    def get_config(self):
        config = super().get_config()
        config["step_decay"] = self.step_decay
        return config

# Last: if this module's own `import keras` first brought Keras in, the rest of what registers
# our classes is imported now that this module is whole (keras_samplecnn.registration).
registration.register(__name__)
