"""DCASE 2017 Task 4's release layout: the facts its converter reads and its demo writes.

The two class orders are named for their source: the release's class list
(`sound_event_list_17_classes.txt`, also the order of its ground-truth rows) and the JSTSP 2019
code's (tae-jun/sampleaudio `lib/data/dcs.py` `CLASSES`), the order of the converter's tags.
"""

# The release's class list, in its order: label, AudioSet MID, Google's annotation confidence.
CLASS_LIST = (
    ("Train horn", "/m/0284vy3", 10),
    ("Air horn, truck horn", "/m/05x_td", 9),
    ("Car alarm", "/m/02mfyn", 7),
    ("Reversing beeps", "/m/02rhddq", 5),
    ("Bicycle", "/m/0199g", 7),
    ("Skateboard", "/m/06_fw", 8),
    ("Ambulance (siren)", "/m/012n7d", 6),
    ("Fire engine, fire truck (siren)", "/m/012ndj", 8),
    ("Civil defense siren", "/m/0dgbq", 9),
    ("Police car (siren)", "/m/04qvtq", 8),
    ("Screaming", "/m/03qc9zr", 8),
    ("Car", "/m/0k4j", 10),
    ("Car passing by", "/t/dd00134", 5),
    ("Bus", "/m/01bjv", 7),
    ("Truck", "/m/07r04", 8),
    ("Motorcycle", "/m/04_sv", 9),
    ("Train", "/m/07jdr", 6),
)
CLASS_LIST_ORDER = tuple(label for label, _, _ in CLASS_LIST)
# The JSTSP 2019 code's order (lib/data/dcs.py CLASSES): the converter's tag order.
JSTSP_CLASS_ORDER = (
    "Train horn",
    "Air horn, truck horn",
    "Car alarm",
    "Reversing beeps",
    "Ambulance (siren)",
    "Police car (siren)",
    "Fire engine, fire truck (siren)",
    "Civil defense siren",
    "Screaming",
    "Bicycle",
    "Skateboard",
    "Car",
    "Car passing by",
    "Bus",
    "Truck",
    "Motorcycle",
    "Train",
)
CLASS_LIST_FILE = "sound_event_list_17_classes.txt"
CLASS_LIST_HEADER = "Class_ID        ConfidenceofAnnotation(by Google)       Class_Label"
GROUNDTRUTH_DIR = "groundtruth_release"
SETS = ("training", "testing", "evaluation")
# Audio folders per set, named as lib/data/dcs.py (DIR_TRAIN, DIR_TEST, DIR_EVAL) expects them.
AUDIO_FOLDERS = {
    "training": "unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads",
    "testing": "unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads",
    "evaluation": "evaluation_set_formatted_audio_segments",
}
WEAK_LABEL_CSVS = {name: f"groundtruth_weak_label_{name}_set.csv" for name in SETS}
