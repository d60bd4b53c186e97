"""MagnaTagATune tagging with the 3^9 SampleCNN (Lee et al., SMC 2017).

    python recipes/mtat_basic.py --data data/mtat          # raw MTAT folder or converted TFRecords
    python recipes/mtat_basic.py --demo                    # synthetic demo data, end to end

Paper: MTAT clip-level macro ROC-AUC 0.9055.
Hardware and time: on one GPU the full run takes hours (up to 100 epochs over 15k clips);
--demo runs on a 2-core CPU in about 8 minutes with a quarter-width model (see the README).
"""

from common import run

if __name__ == "__main__":
    run("mtat_basic", __doc__)
