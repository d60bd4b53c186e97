"""Plots and analyses: filter spectra, SE excitations, taggrams, per-tag metrics.

Every plotting function returns a `matplotlib.figure.Figure` made without pyplot (safe on
machines without a display); save it with `fig.savefig("name.png")` or `.svg`.
"""

from keras_samplecnn.viz.excitations import excitation_figure, excitations, se_blocks
from keras_samplecnn.viz.filters import (
    feature_extractor,
    filter_responses,
    filter_spectra,
    kernel_spectra,
    spectra_figure,
)
from keras_samplecnn.viz.plots import (
    confusion_matrix_figure,
    embedding_projection,
    per_tag_bars,
    taggram_figure,
    training_curves,
)
from keras_samplecnn.viz.report import visualize_model

__all__ = [
    "confusion_matrix_figure",
    "embedding_projection",
    "excitation_figure",
    "excitations",
    "feature_extractor",
    "filter_responses",
    "filter_spectra",
    "kernel_spectra",
    "per_tag_bars",
    "se_blocks",
    "spectra_figure",
    "taggram_figure",
    "training_curves",
    "visualize_model",
]
