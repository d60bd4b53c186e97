"""The basic SampleCNN on DCASE 2017 Task 4, 17 sound events (Kim, Lee, Nam, IEEE JSTSP 2019).

    python recipes/dcase2017_basic.py --data data/dcase2017   # raw folder or converted TFRecords
    python recipes/dcase2017_basic.py --data data/dcase2017 --split official  # training/testing/evaluation
    python recipes/dcase2017_basic.py --demo        # synthetic demo data in the real layout, end to end

DEMO_LINE
"""

from common import run

if __name__ == "__main__":
    run("dcase2017_basic", __doc__, dataset="dcase2017")
