"""``python -m keras_samplecnn.datasets NAME DIR [options]``: write the synthetic demo NAME, one of
the demos of `tfrecords_tools.registry.demos()` (mtat, speech-commands, dcase2017, gtzan, artists,
listeners, msd); ``python -m keras_samplecnn.datasets NAME --help`` lists its options. Without a
demo name first it writes demo MTAT: ``python -m keras_samplecnn.datasets DIR [--clips N] ...``.
"""

import sys

from tfrecords_tools import registry


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    demos = registry.demos()
    if argv[:1] in (["-h"], ["--help"], []):
        print(__doc__.strip() + "\n\ndemos:")
        for name, demo in demos.items():
            print(f"  {name:16s} keras_samplecnn.datasets.{demo.module}.{demo.function}")
        return 0 if argv else 2
    if argv[0] in demos:
        return demos[argv[0]].main()(argv[1:])
    return demos["mtat"].main()(argv)  # the original command line: demo MTAT


if __name__ == "__main__":
    raise SystemExit(main())
