"""Multi-level and multi-scale feature aggregation on MagnaTagATune (Lee & Nam, SPL 2017 / ICML-W 2017).

    python recipes/mtat_multiscale.py --data data/mtat                     # SPL 2017 mel extractors
    python recipes/mtat_multiscale.py --data data/mtat --family icmlw2017  # sample-level extractors
    python recipes/mtat_multiscale.py --demo                               # synthetic demo, 3 seeds

Per seed: (1) each extractor is trained on MTAT tagging (the config `mtat_multiscale.yaml` names
the extractors' TrainConfig, `multiscale_extractors.yaml`: the papers' SGD schedule, batch 23;
`--profile` and `--set` change it) and evaluated on its own, its segment scores averaged over the
clip (the "end to end" rows; the paper's "local model"); (2) every clip's features are
aggregated from all extractors into `<out>/seed<S>/features` (per layer: max over time in a
segment, mean over the clip's segments); (3) the two-layer classifier is trained on the last
layer of each extractor, on all of its layers, on the last layers of all extractors and on
everything. The table (mean ± standard deviation over seeds, clip-level macro ROC-AUC and PR-AUC
on the test split) is printed and written to `<out>/multiscale_table.md` and `.json`.
Finished extractor runs and feature caches are reused, so an interrupted run resumes.

Families (`keras_samplecnn.models.extractor_presets`):
  spl2017    mel CNNs on 18, 27 and 54 frames of 128 log-mel bands (hop 512 at 22,050 Hz; 3, 3
             and 4 conv layers), every layer aggregated (IEEE SPL 2017, arXiv:1703.01793).
  icmlw2017  sample-level CNNs on 59,049 samples with stems of 3, 9 and 27 samples, the top three
             blocks aggregated (ICML 2017 MDW, arXiv:1706.06810).

Papers' MTAT ROC-AUC: SPL 2017 local model .8981, multi-level .9002, multi-level + multi-scale
.9017 (extractors trained on MSD instead: .9021); ICML-W 2017 .9064.

Hardware and time: on real MTAT each extractor is a full training run (hours on a GPU for the
sample-level family, less for the mel CNNs), extraction reads every clip once per extractor and
the classifiers take seconds each. `--demo` trains the three mel extractors on the demo MTAT
data at a fixed number of epochs for 3 seeds, then extracts and classifies: see the README for
its measured time and table.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("mtat_multiscale", __doc__)
