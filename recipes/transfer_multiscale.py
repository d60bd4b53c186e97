"""Transfer of multi-level, multi-scale features: extractors trained on one dataset, a classifier on another.

    python recipes/transfer_multiscale.py --source runs/mtat_multiscale --target gtzan --data data/gtzan
    python recipes/transfer_multiscale.py --source runs/mtat_multiscale --source-data data/mtat \\
        --target gtzan --data data/gtzan               # trains the extractors on MTAT first if needed
    python recipes/transfer_multiscale.py --models a.keras,b.keras --target folder \\
        --data my_audio --labels my_audio/labels.csv  # your own classes (tfrecords_tools folder)
    python recipes/transfer_multiscale.py --models ismir2018_siamese_msd10k --layers embedding \\
        --target folder --data my_audio --labels my_audio/labels.csv --classifier hidden=0
                                                       # a linear probe on the pretrained artist encoder
    python recipes/transfer_multiscale.py --demo       # demo MTAT extractors -> demo GTZAN genres

Step 2 and 3 of Lee & Nam, IEEE SPL 2017 (arXiv:1703.01793), section "transfer learning": the
extractors stay fixed; the target data's clips are aggregated through them (per layer: max over
time in a segment, mean over the clip) and the two-layer classifier is trained on the target's
training split, per feature subset as in `mtat_multiscale.py`, and evaluated on its test split
(accuracy and ROC-AUC for genres, ROC-AUC and PR-AUC for tags). With `--source`, one more row
("untrained") takes all features of the same networks with random weights: what the
pre-training on the source adds.

Extractors: `--source DIR`, the output folder of `mtat_multiscale.py` (each seed's
`seed<S>/extractors/<preset>/best.keras`; with `--source-data` the missing ones are trained
there first, as `mtat_multiscale.py` would), or `--models`, `.keras` files or pretrained preset
names (`keras_samplecnn.presets.PRESETS`, e.g. `ismir2018_siamese_msd10k`; `--layers embedding` takes
its 256-d feature) used for every seed (the seeds then vary only the classifier).

Targets: `gtzan` (converted with the fault-filtered split of Kereliuk, Sturm & Larsen 2015, 443 /
197 / 290 clips, packaged with keras_samplecnn, as in the paper), `mtat` (the papers' split), or
`folder` (any audio folder with a labels CSV; `--labels`). `--data` may also be a folder already
converted by `python -m tfrecords_tools` (manifest.json) at the extractors' sample rate.

Paper: extractors trained on MSD, classifier on GTZAN (fault-filtered): accuracy 0.720; on
MTAT: ROC-AUC 0.9021.

`--demo`: the extractors of `mtat_multiscale.py --demo` (trained there first when
runs/mtat_multiscale_demo does not hold them yet), target: synthetic genres in GTZAN's layout
(`keras_samplecnn.datasets.make_demo_gtzan`: 6 genres the demo synthesiser plays), 3 seeds.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("transfer_multiscale", __doc__)
