"""ReSE-2 + multi-level SampleCNN on DCASE 2017 Task 4, 17 sound events (Kim, Lee, Nam, IEEE JSTSP 2019).

    python recipes/dcase2017_resse.py --data data/dcase2017   # raw folder or converted TFRecords
    python recipes/dcase2017_resse.py --data data/dcase2017 --split official  # training/testing/evaluation
    python recipes/dcase2017_resse.py --demo        # synthetic demo data in the real layout, end to end

Paper: no result table of the paper is recorded in this package (docs/papers/jstsp2019.md).
Hardware and time: the full run needs a GPU (3.9 PFLOP per epoch). --demo (the cpu_1s profile: 16 kHz, 7 blocks at a
quarter of the widths, 10 epochs on 474 synthetic 10-s clips, the authors' taejun_uniform
initialiser) gave clip-level macro ROC-AUC 0.9582 in 1.8 minutes on an idle 2-core CPU whose
printed float32 matmul peak was 466 GFLOP/s, predicted 9.6 minutes at 86 GFLOP/s
(benchmarks/bench_demo.py).
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("dcase2017_resse", __doc__)
