"""Representation learning from artist labels and its transfer (Park, Lee, Park, Ha, Nam, ISMIR 2018).

    python recipes/artist_representation.py --artists data/my_music --artist-labels artists.csv \\
        --genres data/gtzan --tags data/mtat                       # your artist-labelled audio
    python recipes/artist_representation.py --artists data/msd_audio --msd-tracks unique_tracks.txt \\
        --num-artists 1000 --genres data/gtzan --tags data/mtat    # MSD audio named by track id
    python recipes/artist_representation.py --demo                 # synthetic artists, 3 seeds
    python recipes/artist_representation.py --demo --pretrained ismir2018_siamese_msd10k

Per seed: (1) the two artist models are trained on the artist data (the config's training keys:
the authors' SGD at lr 0.1, batch 15, one random 129-frame excerpt per training track per epoch):
the basic model (softmax over artists) and the Siamese model (an anchor against a track of the
same artist and 4 of others, cosine scores, hinge loss with margin 0.4); (2) every clip of each
target is embedded by both trained encoders and by the same network untrained (random weights,
seeded): the 256-d feature averaged over the clip's 129-frame excerpts; (3) the authors' linear
classifier (standardised features, one softmax or sigmoid layer) is trained on each target's
training split and tested on its test split:

  artist   artist recognition on the held-out tracks of the training artists (accuracy)
  genre    GTZAN (fault-filtered split) or any `folder` dataset of classes (accuracy)
  tags     MagnaTagATune or any tag dataset (clip-level macro ROC-AUC)

`--pretrained NAME` (a `keras_samplecnn.from_preset` name, repeatable) adds the authors'
released encoder, trained on the Million Song Dataset, as one more feature set: not trained
here, only its classifiers are, per seed; with a genre target its 256-d features are also drawn
as a 2-D PCA projection coloured by genre (`<out>/pretrained_genre_pca.png`).

The table (mean ± standard deviation over seeds) is printed and written to
`<out>/artist_table.md` and `.json`. Finished training runs and feature caches are reused, so
an interrupted run resumes.

Data: `--artists` is a folder converted by `python -m tfrecords_tools artists` (manifest.json)
or the audio folder, converted here with `--artist-labels CSV` (path,artist[,track_id,album]) or
`--msd-tracks unique_tracks.txt`, the paper's per-artist split (`--tracks-per-artist 15,3,2`)
drawn from a seed, or with `--split-list msd-artist-list.pkl`, the authors' released split
(jiyoungpark527/msd-artist-split; audio named by 7digital id).
`--genres` takes GTZAN (raw or converted) or, with `--genre-labels CSV`, any audio folder;
`--tags` takes MTAT (raw or converted). Targets without data are left out.

`--demo`: `keras_samplecnn.datasets.make_demo_artists` (synthetic artists: each has a style,
an instrumentation, a key and a tempo its tracks share), demo MTAT tags and demo GTZAN-layout
genres (the config's `demo:` section), both objectives trained with the `cpu_artist` profile
(fixed work), 3 seeds. The paper reports no single transfer number to compare with here.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("artist_representation", __doc__)
