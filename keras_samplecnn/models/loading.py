"""The one model loader: a model object, a pretrained preset name or a `.keras` file, with one
error message for anything that is not a model of this package's kind.

Every place that takes a model by name or path (`Tagger`, `Recommender` and `samplecnn
recommend`, `samplecnn filters`, `extract_features`, the feature classifier, the DCUE trainer's
checkpoints, `export_tagger`) loads it here. Exports written by `samplecnn export` are read by
`keras_samplecnn.export.ExportedModel`; `Tagger` chooses between the two.
"""

import os

import keras


class ModelLoadError(ValueError):
    """A path or name that does not give a model of the kind asked for."""


def load_model(model, kind=None, what=None, compile=True):
    """`model` as a `keras.Model`: returned as it is, built from a preset name
    (`keras_samplecnn.from_preset`), or loaded from a `.keras` file.

    Args:
        model: a `keras.Model`, a preset name, or the path of a `.keras` file (a file wins over
            a preset of the same name).
        kind: optional class or tuple of classes the model must be an instance of.
        what: how the message names the expected kind (e.g. "a DCUE model: it has no users").
        compile: passed to `keras.saving.load_model` for a file.

    Raises:
        ModelLoadError: (a `ValueError`) no such file or preset, a file Keras cannot read, or a
            model of another kind, in one message: `cannot load <what> from <model>: <reason>`.
    """
    wanted = what or (_names(kind) if kind else "a keras_samplecnn model")
    if not isinstance(model, keras.Model):
        from keras_samplecnn import presets

        source = model
        if presets.preset_name(source):
            model = presets.from_preset(source)
        else:
            if not isinstance(source, (str, os.PathLike)) or not os.path.exists(source):
                raise ModelLoadError(f"cannot load {wanted} from {source!r}: no such file, folder or preset")
            try:
                model = keras.saving.load_model(source, compile=compile)
            except (OSError, ValueError, TypeError) as error:
                reason = " ".join(str(error).split()).split(". ")[0].rstrip(". ")  # Keras' first sentence
                raise ModelLoadError(f"cannot load {wanted} from {source}: {reason}") from None
        where = source
    else:
        where = model.name
    if kind is not None and not isinstance(model, kind):
        raise ModelLoadError(f"cannot load {wanted} from {where}: it holds a {type(model).__name__}")
    return model


def _names(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "a " + " or ".join(k.__name__ for k in kinds)
