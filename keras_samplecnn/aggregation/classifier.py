"""The classifier on aggregated features (step 3 of Lee & Nam, IEEE SPL 2017, arXiv:1703.01793).

Two fully connected hidden layers with ReLU and dropout, then sigmoid (multi-label) or softmax
(single-label) outputs, trained on the cached clip features of `extract_features`.
"""

import datetime
import os

import keras
import numpy as np

from keras_samplecnn.aggregation.features import load_features, read_features_manifest
from keras_samplecnn.evaluation.metrics import (
    DCASE_THRESHOLD,
    DEFAULT_THRESHOLD,
    classification_metrics,
    tagging_metrics,
    threshold_metrics,
)

__all__ = ["build_classifier", "evaluate_classifier", "train_classifier"]


def build_classifier(dim, num_classes, task="multi_label", hidden=512, dropout=0.5, mean=None, variance=None):
    """The SPL 2017 classifier: standardisation, 2 x (Dense + ReLU + Dropout), output layer.

    With `hidden=0`, a linear classifier (standardisation and the output layer only): the
    ISMIR 2018 authors' transfer classifier (jongpillee/ismir2018-artist `run_gtzan_dnn.py`,
    `build_model0`).

    Args:
        dim: feature size D.
        num_classes: outputs K.
        task: `"multi_label"` (sigmoid) or `"single_label"` (softmax).
        hidden: units of each hidden layer (0: no hidden layer).
        dropout: dropout rate after each hidden layer.
        mean, variance: per-feature statistics for the input `Normalization` (default 0 / 1).

    Returns:
        an uncompiled `keras.Model`.
    """
    mean = np.zeros(dim, np.float32) if mean is None else np.asarray(mean, np.float32)
    variance = np.ones(dim, np.float32) if variance is None else np.asarray(variance, np.float32)
    inputs = keras.Input((dim,), name="features")
    # The statistics live in the model, so the saved classifier takes raw cached features.
    x = keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(inputs)
    if hidden < 0:
        raise ValueError(f"hidden must be >= 0 (0: a linear classifier), got {hidden}")
    for i in (1, 2) if hidden else ():
        x = keras.layers.Dense(hidden, activation="relu", name=f"hidden{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{i}")(x)
    activation = "softmax" if task == "single_label" else "sigmoid"
    outputs = keras.layers.Dense(num_classes, activation=activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name="aggregation_classifier")


def train_classifier(
    feature_dir,
    hidden=512,
    dropout=0.5,
    epochs=100,
    batch_size=64,
    learning_rate=1e-3,
    patience=10,
    seed=0,
    verbose=0,
    columns=None,
):
    """Trains the classifier of Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793) on cached features.

    Inputs are standardised with the training split's per-feature mean and variance (stored in
    the model's `Normalization` layer). With a `valid` split, training stops early on its loss
    and the best weights are kept; without one it runs all `epochs`.

    Args:
        feature_dir: a folder written by `extract_features` (with `train`, ideally `valid`).
        hidden: units of each of the two hidden layers (0: a linear classifier).
        dropout: dropout rate after each hidden layer.
        epochs: most epochs.
        batch_size: clips per step.
        learning_rate: Adam's learning rate.
        patience: epochs without a better validation loss before stopping.
        seed: seed of the initialisation, dropout and shuffling.
        verbose: Keras `fit` verbosity.
        columns: train on these feature columns only (`feature_columns`: one extractor,
            one layer...); None for all. Give the same to `evaluate_classifier`.

    Returns:
        the trained `keras.Model` (outputs: clip scores `(clips, K)`).
    """
    content = read_features_manifest(feature_dir)
    task = content["data"]["task"]
    keras.utils.set_random_seed(seed)
    x_train, y_train, _ = load_features(feature_dir, "train", columns)
    model = build_classifier(
        x_train.shape[1], y_train.shape[1], task, hidden, dropout,
        mean=x_train.mean(axis=0), variance=x_train.var(axis=0),
    )  # fmt: skip
    loss = "categorical_crossentropy" if task == "single_label" else "binary_crossentropy"
    # No XLA: these models are tiny and train in seconds, less than XLA takes to compile them.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, jit_compile=False)
    validation, callbacks = None, []
    if "valid" in content["splits"]:
        x_valid, y_valid, _ = load_features(feature_dir, "valid", columns)
        validation = _in_memory_dataset(x_valid, y_valid, 1024)
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        )
    train = _in_memory_dataset(x_train, y_train, batch_size, seed=seed)
    model.fit(train, epochs=epochs, validation_data=validation, callbacks=callbacks, shuffle=False, verbose=verbose)
    return model


def _in_memory_dataset(x, y, batch_size, seed=None):
    """Batches of in-memory arrays, reshuffled every epoch when `seed` is given.

    A `tf.data` pipeline made once costs a third less per classifier than NumPy arrays, which
    Keras wraps anew every epoch; Keras accepts it on every backend.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if seed is not None:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(1)


def evaluate_classifier(model, feature_dir, split="test", threshold=None, batch_size=256, columns=None):
    """Clip-level metrics of a feature classifier, as `keras_samplecnn.evaluation.evaluate` reports them.

    Args:
        model: a classifier from `train_classifier` (or its `.keras` path).
        feature_dir: a folder written by `extract_features`.
        split: split to evaluate.
        threshold: multi-label decision threshold (default 0.1 for DCASE 2017, else 0.5).
        batch_size: clips per forward pass.
        columns: the feature columns the classifier was trained on (None: all).

    Returns:
        the results dict: `task`, `roc_auc`, `pr_auc`, `per_tag`, `excluded_tags`,
        `num_clips`, plus `accuracy`, `f1_macro`, `confusion_matrix`, `per_class`
        (single-label) or `f1` (multi-label), and `model`, `data`, `split`, `date`.
    """
    model_path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    if model_path:
        from keras_samplecnn.models.loading import load_model

        model = load_model(model_path, what="a feature classifier")
    content = read_features_manifest(feature_dir)
    data = content["data"]
    features, labels, _ = load_features(feature_dir, split, columns)
    if features.shape[1] != model.input_shape[-1]:
        raise ValueError(
            f"the classifier takes {model.input_shape[-1]} features but the selection has "
            f"{features.shape[1]}: give the columns it was trained on"
        )
    # A plain call per batch, not `predict`: each classifier of a comparison would otherwise
    # trace a new predict function (and TensorFlow warns about retracing).
    scores = np.concatenate([
        keras.ops.convert_to_numpy(model(features[i : i + batch_size], training=False))
        for i in range(0, len(features), batch_size)
    ]) if len(features) else np.zeros((0, model.output_shape[-1]), np.float32)  # fmt: skip
    results = tagging_metrics(labels, scores, data["tags"])
    results["task"] = data["task"]
    if data["task"] == "single_label":
        results.update(classification_metrics(labels, scores, data["tags"]))
    else:
        if threshold is None:
            threshold = DCASE_THRESHOLD if data.get("dataset") == "dcase2017" else DEFAULT_THRESHOLD
        results["f1"] = threshold_metrics(labels, scores, data["tags"], threshold)
    results.update(
        model=model_path or model.name,
        data=os.fspath(feature_dir),
        split=split,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
    )
    return results
