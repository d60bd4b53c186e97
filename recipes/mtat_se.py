"""SampleCNN with squeeze-and-excitation blocks on MagnaTagATune (Kim, Lee, Nam, ICASSP 2018).

    python recipes/mtat_se.py --data data/mtat          # raw MTAT folder or converted TFRecords
    python recipes/mtat_se.py --demo                    # synthetic demo data, end to end

Paper: MTAT clip-level macro ROC-AUC 0.9083 (0.9111 with --set model.multi_level=true).
Hardware and time: on one GPU the full run takes hours (up to 100 epochs over 15k clips);
--demo runs on a 2-core CPU in about 8 minutes (see the README for the measured output).
"""

from common import run

if __name__ == "__main__":
    run("mtat_se", __doc__)
