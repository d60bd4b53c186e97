"""`python -m keras_samplecnn.models` prints the model zoo's parameter table (Markdown)."""

from keras_samplecnn.models.registry import parameter_table

print(parameter_table())
