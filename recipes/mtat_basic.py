"""MagnaTagATune tagging with the 3^9 SampleCNN (Lee et al., SMC 2017).

    python recipes/mtat_basic.py --data data/mtat          # raw MTAT folder or converted TFRecords
    python recipes/mtat_basic.py --demo                    # synthetic demo data, end to end

Paper: MTAT clip-level macro ROC-AUC 0.9055.
Hardware and time: on one GPU the full run takes hours (10 segments of 15k clips per epoch,
until the five learning-rate stages end). --demo (the cpu profile: 16 kHz, 3^8 model at a
quarter of the widths, 5 epochs) of mtat_se.py takes about 2.3 minutes on a 2-core CPU with
a float32 matmul peak of 220 GFLOP/s, predicted 6 minutes at 86 GFLOP/s
(benchmarks/bench_demo.py); basic blocks do a little less than SE's work.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("mtat_basic", __doc__)
