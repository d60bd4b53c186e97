"""TFRecord schema and tf.data pipelines."""
