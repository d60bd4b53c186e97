"""`python -m tfrecords_tools`: see `tfrecords_tools.cli`."""

import sys

from keras_samplecnn.quiet import filter_native_logs

if __name__ == "__main__":
    filter_native_logs()  # TensorFlow's native chatter, here and in the worker processes
    from tfrecords_tools.cli import main

    sys.exit(main())
