"""ReSE-2 + multi-level SampleCNN on Speech Commands v0.02, 35 words (Kim, Lee, Nam, IEEE JSTSP 2019).

    python recipes/speech_commands_resse.py --data data/speech_commands_v0.02   # raw folder or converted TFRecords
    python recipes/speech_commands_resse.py --data data/speech_commands_v0.02 --variant 12   # yes/no/.../_silence_/_unknown_
    python recipes/speech_commands_resse.py --demo        # synthetic demo data in the real layout, end to end

DEMO_LINE
"""

from common import run

if __name__ == "__main__":
    run("speech_commands_resse", __doc__, dataset="speech_commands")
