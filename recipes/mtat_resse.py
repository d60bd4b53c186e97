"""MagnaTagATune tagging with ReSE-2 blocks + multi-level aggregation, the best model of Kim, Lee, Nam, ICASSP 2018.

    python recipes/mtat_resse.py --data data/mtat          # raw MTAT folder or converted TFRecords
    python recipes/mtat_resse.py --demo                    # synthetic demo data, end to end

Paper: MTAT clip-level macro ROC-AUC 0.9113.
Hardware and time: on one GPU the full run takes hours (up to 100 epochs over 15k clips);
--demo runs on a 2-core CPU in about 8 minutes with a quarter-width model (see the README).
"""

from common import run

if __name__ == "__main__":
    run("mtat_resse", __doc__)
