"""Multi-level and multi-scale feature aggregation with pre-trained SampleCNNs.

Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793): fixed pre-trained extractors, each layer's output
max-pooled per segment and averaged per clip, concatenated over layers and over extractors of
several input lengths, then a two-hidden-layer classifier. Lee & Nam, ICML 2017 Music Discovery
Workshop (arXiv:1706.06810): the same with sample-level extractors and their top three layers.

    extract_features([model_a, "b.keras"], "data/mtat", "features/mtat")   # step 2, cached
    classifier = train_classifier("features/mtat")                        # step 3
    evaluate_classifier(classifier, "features/mtat", "test")
"""

from keras_samplecnn.aggregation.classifier import build_classifier, evaluate_classifier, train_classifier
from keras_samplecnn.aggregation.comparison import (
    FeatureVariant,
    compare_features,
    end_to_end_row,
    feature_variants,
    markdown_table,
    summarise,
)
from keras_samplecnn.aggregation.features import (
    FEATURES_MANIFEST,
    FeatureVerifyReport,
    aggregate,
    extract_features,
    extractor_layers,
    feature_columns,
    feature_model,
    load_features,
    read_features_manifest,
    segment_max,
    verify_features,
)

__all__ = [
    "FEATURES_MANIFEST",
    "FeatureVariant",
    "compare_features",
    "end_to_end_row",
    "feature_variants",
    "markdown_table",
    "summarise",
    "FeatureVerifyReport",
    "aggregate",
    "build_classifier",
    "evaluate_classifier",
    "extract_features",
    "extractor_layers",
    "feature_columns",
    "feature_model",
    "load_features",
    "read_features_manifest",
    "segment_max",
    "train_classifier",
    "verify_features",
]
