"""``python -m keras_samplecnn.datasets DIR [--clips N] [--seconds S] [--seed K]``: write the
synthetic MTAT-layout demo dataset (see `keras_samplecnn.datasets.demo_mtat`)."""

from keras_samplecnn.datasets.demo_mtat import main

if __name__ == "__main__":
    raise SystemExit(main())
