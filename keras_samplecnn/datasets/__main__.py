"""Write a demo dataset:

- ``python -m keras_samplecnn.datasets DIR [--clips N] [--seconds S] [--seed K]``: the synthetic
  MTAT-layout dataset (see `keras_samplecnn.datasets.demo_mtat`);
- ``python -m keras_samplecnn.datasets artists DIR [--artists N] [--tracks T] [--seconds S]
  [--seed K]``: the synthetic artist-labelled dataset (see
  `keras_samplecnn.datasets.demo_artists`);
- ``python -m keras_samplecnn.datasets listeners DIR [--artists N] [--tracks T] [--users U]
  [--seconds S] [--seed K]``: synthetic listeners in the Taste Profile layout, for DCUE (see
  `keras_samplecnn.datasets.demo_listeners`);
- ``python -m keras_samplecnn.datasets msd DIR [--tracks N] [--seconds S] [--seed K]``: a tiny
  Million Song Dataset tagging collection for `python -m tfrecords_tools msd` (see
  `keras_samplecnn.datasets.demo_msd`).
"""

import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # A first word names the demo; without one it is demo MTAT (the original command line).
    if argv[:1] == ["artists"]:
        from keras_samplecnn.datasets.demo_artists import main as artists_main

        return artists_main(argv[1:])
    if argv[:1] == ["listeners"]:
        from keras_samplecnn.datasets.demo_listeners import main as listeners_main

        return listeners_main(argv[1:])
    if argv[:1] == ["msd"]:
        from keras_samplecnn.datasets.demo_msd import main as msd_main

        return msd_main(argv[1:])
    from keras_samplecnn.datasets.demo_mtat import main as mtat_main

    return mtat_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
