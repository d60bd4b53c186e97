"""Keras layers of the sample-level CNN family (one layer per module)."""

from keras_samplecnn import registration
from keras_samplecnn.layers.batch_norm import BatchNorm
from keras_samplecnn.layers.conv1d import Conv1D
from keras_samplecnn.layers.dropout import relu_dropout
from keras_samplecnn.layers.initializers import TaejunUniform
from keras_samplecnn.layers.mel import LogMelSpectrogram
from keras_samplecnn.layers.multi_level import MultiLevelConcat
from keras_samplecnn.layers.res_block import ResBlock
from keras_samplecnn.layers.sample_conv import SampleConv
from keras_samplecnn.layers.se_block import SEBlock

__all__ = ["BatchNorm", "Conv1D", "LogMelSpectrogram", "MultiLevelConcat", "ResBlock", "SEBlock", "SampleConv",
           "TaejunUniform", "relu_dropout"]

# Last: if this module's own `import keras` first brought Keras in, the rest of what registers
# our classes is imported now that this module is whole (keras_samplecnn.registration).
registration.register(__name__)
