"""Music recommendation from audio and listening data: the deep content-user embedding model (DCUE;
Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786), cold-start songs included.

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --song-list subset_songs_20000_10000.npy --num-users 20000 \\
        --out data/taste
    python recipes/dcue.py --data data/taste [--tags song_tags.csv]    # the paper's run
    python recipes/dcue.py --demo [--seeds 0,1,2]                      # synthetic listeners

Per seed, protocol ("authors": the authors' split and evaluation; "heldout": ours, with
cold-start songs) and variant ("basic", "multi"), the model is trained as the authors' code
trains it, songs and users are embedded, and each user's songs are ranked: per-user ROC-AUC
beside popularity and ALS, and the tagging task on the frozen song embedding. Every step, the
protocols and the outputs: `samplecnn run dcue --help` (`keras_samplecnn.experiments.dcue`).
The table (mean ± standard deviation over seeds) is written to `<out>/dcue_table.md` and
`.json`; an interrupted run resumes.

`--demo`: synthetic listeners of the demo songs (`keras_samplecnn.datasets.make_demo_listeners`)
trained with the smaller settings of `dcue.yaml`'s `demo:` section (fixed work), seed 0.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("dcue", __doc__)
