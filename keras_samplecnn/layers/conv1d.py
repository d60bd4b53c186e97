"""A 1-D convolution whose weight gradient is a few matmuls on TensorFlow."""

import keras

PACKAGE = "keras_samplecnn"  # as in sample_conv, which imports this module

MAX_TAPS = 16  # per-tap matmuls for kernels up to this long; longer ones keep TensorFlow's op


@keras.saving.register_keras_serializable(package=PACKAGE)
class Conv1D(keras.layers.Conv1D):
    """`keras.layers.Conv1D` with a faster weight gradient on the TensorFlow backend.

    oneDNN's weight-gradient kernel (`Conv2DBackpropFilter`) is the slow third of a SampleCNN
    convolution on CPUs: on the first block's activation `(23, 19683, 128)`, kernel 3, it
    ran at 74 GFLOP/s on a 2-core Xeon where the forward convolution ran at 218 and a matmul
    peaks at 239-307 (`benchmarks/bench_block_ops.py`). Written as one matmul per kernel tap,
    `dW[j] = x_padded[:, j : j + T]^T @ dy` over the batch and time (K = 452,709 rows), on
    row views of the flattened tensors, the same gradient takes 218 ms instead of 605. So with
    the TensorFlow backend, for stride 1, no dilation, one group, channels last and a kernel of
    at most 16 taps, the layer computes
    its convolution under `tf.custom_gradient`: the forward pass is TensorFlow's own op, the
    input gradient is the forward op again (a correlation of the padded output gradient with
    the flipped, transposed kernel) and the weight gradient is the per-tap matmuls. Everywhere
    else (other backends, strided stems) it is Keras's layer. The outputs, weights, config and
    saved files are those of `keras.layers.Conv1D`; the gradients equal TensorFlow's up to
    float summation order (tested).

    Args:
        **kwargs: `keras.layers.Conv1D` arguments.

    Reference: the convolutions of the sample-level blocks, Lee, Park, Kim, Nam, SMC 2017
    (arXiv:1703.01789).
    """

    def call(self, inputs):
        if not self._can_use_taps():
            return super().call(inputs)
        outputs = _conv1d_tf(inputs, self.kernel, self.padding)
        if self.use_bias:
            outputs = keras.ops.add(outputs, keras.ops.reshape(self.bias, (1, 1, self.filters)))
        return outputs if self.activation is None else self.activation(outputs)

    def _can_use_taps(self):
        return (
            keras.config.backend() == "tensorflow"
            and tuple(self.strides) == (1,)
            and tuple(self.dilation_rate) == (1,)
            and self.groups == 1
            and self.data_format == "channels_last"
            and self.padding in ("same", "valid")
            and self.kernel_size[0] <= MAX_TAPS
        )


def _paddings(taps, padding):
    """(left, right) zero padding of the input for TensorFlow's `same` or `valid`, stride 1."""
    if padding == "valid":
        return 0, 0
    left = (taps - 1) // 2
    return left, taps - 1 - left


def _conv1d_tf(inputs, kernel, padding):
    import tensorflow as tf

    taps = kernel.shape[0]
    left, right = _paddings(taps, padding)

    @tf.custom_gradient
    def convolve(x, w):
        y = tf.nn.conv1d(x, w, stride=1, padding=padding.upper())

        def gradient(dy):
            # dx[s] = sum_j dy[s + j - (taps - 1 - left)] @ w[taps - 1 - j]^T: the forward op on
            # the output gradient, padded by (taps - 1 - left, taps - 1 - right), which is
            # "same" padding itself for an odd kernel.
            flipped = tf.transpose(tf.reverse(w, axis=[0]), [0, 2, 1])
            if padding == "same" and left == right:
                dx = tf.nn.conv1d(dy, flipped, stride=1, padding="SAME")
            else:
                dy_padded = tf.pad(dy, [[0, 0], [taps - 1 - left, taps - 1 - right], [0, 0]])
                dx = tf.nn.conv1d(dy_padded, flipped, stride=1, padding="VALID")
            dw = _weight_gradient(x, dy, taps, left, right, padding)
            return dx, dw

        return y, gradient

    return convolve(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def _weight_gradient(x, dy, taps, left, right, padding):
    """dW[j] = sum over batch and t of x_padded[:, t + j]^T dy[:, t], one matmul per tap."""
    import tensorflow as tf

    length = x.shape[1]
    if padding == "same" and length is not None and length > max(left, right):
        return tf.stack([_shifted_product(x, dy, j - left) for j in range(taps)])
    # With the padded input and the output gradient (zero-padded at the end to the same rows
    # per example) flattened to rows, dW[j] is x_rows[j : j + n]^T @ dy_rows[:n] (a shifted row
    # never crosses into the next example where dy is nonzero), and a slice of whole rows is
    # a view, not a copy.
    x_rows = tf.reshape(tf.pad(x, [[0, 0], [left, right], [0, 0]]), [-1, x.shape[-1]])
    dy_rows = tf.reshape(tf.pad(dy, [[0, 0], [0, taps - 1], [0, 0]]), [-1, dy.shape[-1]])
    n = tf.shape(dy_rows)[0] - (taps - 1)
    return tf.stack([tf.matmul(x_rows[j : j + n], dy_rows[:n], transpose_a=True) for j in range(taps)])


def _shifted_product(x, dy, shift):
    """`sum over batch and t of x[:, t + shift]^T dy[:, t]` (x zero outside), for `same`.

    One matmul of row views of the flattened `x` and `dy`, `shift` rows apart, minus the
    `|shift|` row pairs per example boundary that the flat shift wrongly pairs across two
    examples: no padded copy of either tensor is made (those two pads cost 3 % of a ReSE
    training step). Needs `|shift|` < the length, known statically.
    """
    import tensorflow as tf

    length = x.shape[1]
    x_rows = tf.reshape(x, [-1, x.shape[-1]])
    dy_rows = tf.reshape(dy, [-1, dy.shape[-1]])
    if shift == 0:
        return tf.matmul(x_rows, dy_rows, transpose_a=True)
    n = tf.shape(x_rows)[0] - abs(shift)
    if shift > 0:
        full = tf.matmul(x_rows[shift:], dy_rows[:n], transpose_a=True)
        x_wrong, dy_wrong = x[1:, :shift], dy[:-1, length - shift :]
    else:
        full = tf.matmul(x_rows[:n], dy_rows[-shift:], transpose_a=True)
        x_wrong, dy_wrong = x[:-1, length + shift :], dy[1:, :-shift]
    wrong = tf.matmul(
        tf.reshape(x_wrong, [-1, x.shape[-1]]), tf.reshape(dy_wrong, [-1, dy.shape[-1]]), transpose_a=True
    )
    return full - wrong
