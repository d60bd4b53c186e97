"""MagnaTagATune tagging with ReSE-2 blocks (Kim, Lee, Nam, ICASSP 2018).

    python recipes/mtat_rese.py --data data/mtat          # raw MTAT folder or converted TFRecords
    python recipes/mtat_rese.py --demo                    # synthetic demo data, end to end

Paper: MTAT clip-level macro ROC-AUC 0.9102 (0.9113 with --set model.multi_level=true).
Hardware and time: on one GPU the full run takes hours (10 segments of 15k clips per epoch,
until the five learning-rate stages end). --demo (the cpu profile: 16 kHz, 3^8 model at a
quarter of the widths, 5 epochs) of mtat_se.py takes about 2.3 minutes on a 2-core CPU with
a float32 matmul peak of 220 GFLOP/s, predicted 6 minutes at 86 GFLOP/s
(benchmarks/bench_demo.py); ReSE-2 blocks do about twice its work.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("mtat_rese", __doc__)
