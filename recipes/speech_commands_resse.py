"""ReSE-2 + multi-level SampleCNN on Speech Commands v0.02, 35 words (Kim, Lee, Nam, IEEE JSTSP 2019).

    python recipes/speech_commands_resse.py --data data/speech_commands_v0.02   # raw folder or converted TFRecords
    python recipes/speech_commands_resse.py --data data/speech_commands_v0.02 --variant 12   # yes/no/.../_silence_/_unknown_
    python recipes/speech_commands_resse.py --demo        # synthetic demo data in the real layout, end to end

Paper: no result table of the paper is recorded in this package (docs/papers/jstsp2019.md).
Hardware and time: the full run needs a GPU (715 TFLOP per epoch). --demo (the cpu_1s profile: 16 kHz, 7 blocks at a
quarter of the widths, 10 epochs on 3,500 synthetic clips of 35 words, the authors'
taejun_uniform initialiser) gave test argmax accuracy 0.9898 (thresholded accuracy, the authors'
"acc" at score > 0.5: 0.9863) in 1.8 minutes on an idle 2-core CPU whose printed float32 matmul
peak was 494 GFLOP/s, predicted 10.3 minutes at 86 GFLOP/s (benchmarks/bench_demo.py).
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("speech_commands_resse", __doc__)
