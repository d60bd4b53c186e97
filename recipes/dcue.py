"""Music recommendation from audio and listening data: the deep content-user embedding model (DCUE;
Lee, Lee, Park, Park, Nam, DLRS 2018, arXiv:1807.06786), cold-start songs included.

    python -m tfrecords_tools taste-profile --triplets train_triplets.txt --audio-dir MSD_AUDIO \\
        --msd-tracks unique_tracks.txt --song-list subset_songs_20000_10000.npy --num-users 20000 \\
        --out data/taste
    python recipes/dcue.py --data data/taste [--tags song_tags.csv]    # the paper's run
    python recipes/dcue.py --demo [--seeds 0,1,2]                      # synthetic listeners

Per seed, protocol and variant ("basic", "multi"): the DCUE model is trained as the authors'
code trains it (`dcue.yaml`; jongpillee/deep-content-user @0e57b68 `train.py`: SGD lr 0.2,
Nesterov momentum 0.9, decay 1e-6, batches of 10 interactions each against 20 songs the user did
not play, the hinge loss of margin 0.2 summed), then every song is embedded from its audio and
every user from the user branch, and each user's songs are ranked by cosine: per-user ROC-AUC,
averaged over users, under two protocols (`evaluation.protocols`):

  authors  the authors' split and evaluation (`load_label.py`, `evaluation.py`): songs split by
           their position in the song list modulo 10; warm = the training songs against all
           their interactions (how well the embeddings reproduce the matrix they were trained
           on), cold = the test songs; popularity counts listeners in that same matrix;
  heldout  ours: warm = held-out interactions of songs seen in training (the user's training
           pairs left out of the ranking), cold = seeded cold-start songs no training
           interaction touched; popularity counts training listeners only (cold songs tie:
           AUC 0.5), and implicit-feedback ALS (`implicit`) is the matrix-factorisation
           baseline (it cannot score cold songs);
  tags     the tagging task (`tagging.py`): an MLP (Dense 512 + BN + ReLU twice → sigmoid, SGD
           0.1 Nesterov, batch 10) on the frozen song embedding of the authors'-protocol model,
           macro ROC-AUC on held-out songs, beside the same network untrained.

The "multi" model's five levels (the song embedding, and conv5 … conv2) are each evaluated on
their own, as the authors' `evaluation.py` and `tagging.py` do.

The table (mean ± standard deviation over seeds) is printed and written to `<out>/dcue_table.md`
and `.json`. Finished training runs and the song spectrograms are reused, so an interrupted run
resumes (a training run from its last finished epoch).

Data: `--data` is a folder converted by `python -m tfrecords_tools taste-profile` (song
TFRecords beside `interactions.npz`). Tags for the tagging task: `--tags CSV` with columns
`song_id` and `tags` (tags separated by `|`), e.g. the MSD's last.fm tags of the songs.

`--demo`: `keras_samplecnn.datasets.make_demo_listeners` (synthetic listeners whose tastes follow
the demo songs' styles, tags and artists, with popularity bias and noise) converted by the same
converter, trained with the smaller settings of `dcue.yaml`'s `demo:` section (fixed work), seed
0. Songs are then listed in order of listeners, so the authors' modulo-10 split spreads popular
and rare songs over its parts. The same runs as `samplecnn run dcue [--demo]`; the code is
`keras_samplecnn.experiments.dcue`.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("dcue", __doc__)
