"""`python -m tfrecords_tools`: see `tfrecords_tools.cli`."""

import sys

from tfrecords_tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
