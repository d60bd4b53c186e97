"""One registry of the datasets the package knows: per dataset its converter, the files that mark
its raw layout, the help printed when it is missing, and its synthetic demo.

`python -m tfrecords_tools` takes its subcommands from here, `python -m keras_samplecnn.datasets`
its demos, and the experiments (`keras_samplecnn.experiments`) how to find, convert or synthesise
their data. Demo makers are named by module, not imported: this layer imports no Keras and no
demo code.

A new dataset is one `Dataset` entry here, a converter module in `tfrecords_tools` (with
`add_arguments`, `plan_from_args`, `plan`) and, if it has one, a demo module in
`keras_samplecnn.datasets` (with `add_arguments`, `make_demo_<name>` and `main`).
"""

import dataclasses
import importlib

MTAT_HELP = """\
No MagnaTagATune data found{where}.

Download MagnaTagATune (https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset):
  mp3.zip.001, mp3.zip.002, mp3.zip.003   (cat them into one zip, unzip: folders 0/ ... f/)
  annotations_final.csv                   (and clip_info_final.csv)
into one folder, e.g. data/mtat/, so that data/mtat/annotations_final.csv and data/mtat/0/
exist, then run:
  python {script} --data data/mtat
The first run converts the mp3s to TFRecords in <out>/tfrecords (resumable), later runs reuse them.
A folder already converted with `python -m tfrecords_tools mtat` (it holds manifest.json)
can be given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on a synthetic demo dataset
in MTAT's exact layout (a few minutes on a 2-core CPU).
"""

SPEECH_COMMANDS_HELP = """\
No Speech Commands data found{where}.

Download Speech Commands v0.02 (Warden 2018; 2.3 GB, 105,829 one-second 16 kHz wavs):
  http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz
and extract it into one folder, e.g. data/speech_commands_v0.02/, so that
data/speech_commands_v0.02/validation_list.txt and data/speech_commands_v0.02/yes/ exist, then run:
  python {script} --data data/speech_commands_v0.02
The first run converts the wavs to TFRecords in <out>/tfrecords (resumable), later runs reuse them.
A folder already converted with `python -m tfrecords_tools speech-commands` (it holds
manifest.json) can be given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on synthetic words in the
Speech Commands layout (a few minutes on a 2-core CPU).
"""

DCASE2017_HELP = """\
No DCASE 2017 Task 4 data found{where}.

Get the task's lists and labels from its repository
  https://github.com/ankitshah009/Task-4-Large-scale-weakly-supervised-sound-event-detection-for-smart-cars
(groundtruth_weak_label_training_set.csv, groundtruth_weak_label_testing_set.csv,
groundtruth_release/groundtruth_weak_label_evaluation_set.csv) and download the audio with its
download script (52,763 ten-second AudioSet clips from YouTube, about 22 GB as wav; some videos
are gone, the converter lists them in rejected.csv) into one folder, e.g. data/dcase2017/, with
the audio in unbalanced_train_segments_training_set_audio_formatted_and_segmented_downloads/,
unbalanced_train_segments_testing_set_audio_formatted_and_segmented_downloads/ and
evaluation_set_formatted_audio_segments/, then run:
  python {script} --data data/dcase2017
A folder already converted with `python -m tfrecords_tools dcase2017` (manifest.json) can be
given to --data directly.

No data at hand? `python {script} --demo` runs the whole recipe on synthetic street sounds in
the DCASE 2017 Task 4 layout (a few minutes on a 2-core CPU).
"""


GTZAN_HELP = """\
No GTZAN data found{where}.

Get the GTZAN genre collection (Tzanetakis & Cook 2002; 1,000 30-s clips, 10 genres) and unpack
it into one folder, e.g. data/gtzan/, so that data/gtzan/genres/blues/blues.00000.au (or the
Kaggle copy's genres_original/blues/blues.00000.wav) exists, then run:
  python {script} --data data/gtzan
It is converted with the fault-filtered split of Kereliuk, Sturm & Larsen 2015 (443 / 197 / 290
clips, the split of the SPL 2017 paper), packaged with keras_samplecnn.

No data at hand? `python {script} --demo` uses synthetic genres in GTZAN's layout.
"""

FOLDER_HELP = """\
No audio folder found{where}.

Give --data the folder of your audio files and --labels a CSV with `path` and `class` (or
`tags`) columns, optionally `split` (see `python -m tfrecords_tools folder --help`), or a
folder already converted with `python -m tfrecords_tools folder` (it holds manifest.json).
"""


ARTISTS_HELP = """\
No artist data found{where}.

Give --artists a folder converted by `python -m tfrecords_tools artists` (it holds
manifest.json), or your audio folder with --artist-labels CSV (columns path,artist and
optionally track_id,album; paths relative to the folder) or, for Million Song Dataset audio
named by track id, --msd-tracks unique_tracks.txt. The paper keeps 20 tracks per artist
(15 / 3 / 2 for training / validation / test; --tracks-per-artist).

No data at hand? `python {script} --demo` uses synthetic artists.
"""


@dataclasses.dataclass(frozen=True)
class Demo:
    """A dataset's synthetic demo, written in the dataset's real layout.

    Args:
        name: its name on `python -m keras_samplecnn.datasets NAME DIR`.
        module: the module under `keras_samplecnn.datasets` that writes it (`main(argv)` is its
            command line).
        function: that module's `make_demo_*` function, `function(directory, **size)`.
        folder: the folder name an experiment writes it to under its run folder.
    """

    name: str
    module: str
    function: str
    folder: str

    def maker(self):
        """The `make_demo_*` function (imports the demo module)."""
        return getattr(importlib.import_module(f"keras_samplecnn.datasets.{self.module}"), self.function)

    def main(self):
        """The demo module's command line, `main(argv)`."""
        return importlib.import_module(f"keras_samplecnn.datasets.{self.module}").main


@dataclasses.dataclass(frozen=True)
class Dataset:
    """How a dataset is found, converted and synthesised.

    Args:
        command: the `python -m tfrecords_tools` subcommand that converts it.
        converter: its converter module under `tfrecords_tools`.
        markers: files (relative to the raw root) of which one marks the raw layout; empty: any
            folder is taken as raw data (a folder of your own audio).
        download_help: the message printed when no data is found (`{where}` and `{script}`
            are filled in).
        demo: its synthetic demo, or None.
        convert_options: experiment options passed on to the converter, `(flag, argparse kwargs)`.
        real_data_options: converter options for the real dataset only, not its demo (MTAT:
            the papers' packaged split lists, whose file names the demo does not have).
        root_flag: the converter's option for the raw folder.
    """

    command: str
    converter: str
    markers: tuple = ()
    download_help: str = ""
    demo: Demo | None = None
    convert_options: tuple = ()
    real_data_options: tuple = ()
    root_flag: str = "--root"

    def converter_module(self):
        """The converter module (imports it)."""
        return importlib.import_module(f"tfrecords_tools.{self.converter}")


TASTE_PROFILE_HELP = """\
No converted Taste Profile data{where}.

DCUE needs user-song interactions and the songs' audio, converted once:

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --song-list subset_songs_20000_10000.npy --num-users 20000 \\
        --out data/taste
    python {script} --data data/taste

(the Echo Nest Taste Profile subset's train_triplets.txt, the MSD's unique_tracks.txt, and the
songs' audio named by MSD track id; or any user,item,count CSV with `--interactions`). Without
data, `python {script} --demo` runs the whole experiment on synthetic listeners.
"""

MSD_HELP = """\
No Million Song Dataset tagging data found{where}.

Fetch the split lists with `python -m tfrecords_tools msd-splits --out MSD_SPLITS`, then convert
the 30-second previews with their Last.fm tags:
  python -m tfrecords_tools msd --audio-dir MSD_PREVIEWS --split lee --split-dir MSD_SPLITS \\
      --lastfm-db lastfm_tags.db --out data/msd
and give the converted folder (it holds manifest.json) to --data.
"""


DATASETS = {
    "mtat": Dataset(
        "mtat",
        "mtat",
        ("annotations_final.csv",),
        MTAT_HELP,
        Demo("mtat", "demo_mtat", "make_demo_mtat", "demo_mtat"),
        real_data_options=("--split-files", "reference"),
    ),
    "speech_commands": Dataset(
        "speech-commands",
        "speech_commands",
        ("validation_list.txt",),
        SPEECH_COMMANDS_HELP,
        Demo("speech-commands", "demo_speech_commands", "make_demo_speech_commands", "demo_speech_commands"),
        (
            (
                "--variant",
                {
                    "choices": ("35", "12"),
                    "default": "35",
                    "help": "35 words (default), or the 12-class yes/no/.../_silence_/_unknown_ variant",
                },
            ),
        ),
    ),  # fmt: skip
    "dcase2017": Dataset(
        "dcase2017",
        "dcase2017",
        (
            "groundtruth_weak_label_training_set.csv",
            "groundtruth_release/groundtruth_weak_label_training_set.csv",
        ),
        DCASE2017_HELP,
        Demo("dcase2017", "demo_dcase2017", "make_demo_dcase2017", "demo_dcase2017"),
        (
            (
                "--split",
                {
                    "choices": ("jstsp", "official"),
                    "default": "jstsp",
                    "help": "jstsp: 10%% of training+testing held out for validation, evaluation as test "
                    "(default); official: training / testing / evaluation",
                },
            ),
        ),
    ),  # fmt: skip
    "gtzan": Dataset(
        "gtzan",
        "gtzan",
        ("genres", "genres_original"),
        GTZAN_HELP,
        Demo("gtzan", "demo_gtzan", "make_demo_gtzan", "demo_gtzan"),
        real_data_options=("--split-files", "filtered"),
    ),
    "folder": Dataset("folder", "folder", (), FOLDER_HELP, root_flag="--audio-dir"),
    "artists": Dataset(
        "artists",
        "artists",
        (),
        ARTISTS_HELP,
        Demo("artists", "demo_artists", "make_demo_artists", "demo_artists"),
        root_flag="--audio-dir",
    ),
    "taste_profile": Dataset(
        "taste-profile",
        "taste_profile",
        ("train_triplets.txt",),
        TASTE_PROFILE_HELP,
        Demo("listeners", "demo_listeners", "make_demo_listeners", "demo_listeners"),
        root_flag="--audio-dir",
    ),
    "msd": Dataset(
        "msd",
        "msd",
        (),
        MSD_HELP,
        Demo("msd", "demo_msd", "make_demo_msd", "demo_msd"),
        root_flag="--audio-dir",
    ),
}


def by_command(command):
    """The dataset a `python -m tfrecords_tools` subcommand converts."""
    for dataset in DATASETS.values():
        if dataset.command == command:
            return dataset
    raise KeyError(command)


def demos():
    """`{demo name: Demo}` of every dataset with a demo, in registry order."""
    return {dataset.demo.name: dataset.demo for dataset in DATASETS.values() if dataset.demo is not None}
