"""The SMC 2017 m^n table on MagnaTagATune: one mtat_basic run per row, then the table.

    python recipes/mtat_mn_table.py --list                       # the rows and the paper's AUCs
    python recipes/mtat_mn_table.py --data data/mtat             # the default rows (best per m)
    python recipes/mtat_mn_table.py --data data/mtat --rows 3^9,2^14,smc2017_3_8_19683 --baselines
    python recipes/mtat_mn_table.py --demo --rows 3^3,2^6        # synthetic demo data, end to end

Each row is a run of the `mtat_basic` config (basic blocks, the papers' SGD schedule) with
`model.name=<row's preset>`, trained in `<out>/<preset>/` (default out: runs/mtat_mn_table,
runs/mtat_mn_table_demo with --demo). A finished row is not trained again: its numbers are
read back from `<out>/<preset>/evaluation/results.json`. The table (preset, m^n, input
samples, stem, parameters, our clip-level macro ROC-AUC on the test split, the paper's) is
printed and written to `<out>/mn_table.md` and `<out>/mn_table.json`.

--rows takes preset names (`smc2017_<m>_<n>_<samples>`, see --list, and `frame`, `mel`) or
`m^n` shorthands; an m^n that the table holds at two input lengths needs the length:
`3^8@19683` or `3^8@59049`. Default: the paper's best row per m (2^14 on 32768 samples,
3^9 on 59049, 4^7 on 65536, 5^6 on 78125). --baselines adds the frame-level raw-waveform
(`frame`: the 3^4 row, a 729-sample strided first convolution) and mel-spectrogram (`mel`)
baselines.

Data: rows with different input lengths need data converted with different segment
lengths. The raw MTAT folder (or the demo, synthesised once in `<out>/demo_mtat`) is
converted once per (input length, sample rate) into `<out>/data/<length>_<rate>Hz/tfrecords`
and shared by the rows of that length. A folder already converted (manifest.json) is used
as it is for every row, so give one only when its segments fit the rows you train.

Geometry is kept whatever the profile: every row gets `--set` overrides of the preset's m,
n, input length and 22050 Hz, and widths of `--width` times the paper's (stem 128, blocks
`default_filters(n)`: 128, 128, 256..., 512), before your own --set (which still wins).
The plain cpu profile would change n, the rate and the widths and so erase the row it is
meant to measure; --demo therefore uses `profiles/cpu_mn.yaml`, the cpu profile's
optimisation, data and output settings without its model overrides, and a quarter of the
widths (--width 0.25): the `demo:` section of `mtat_mn_table.yaml`, whose keys (rows, width,
out, the rows' config) the options override.

Paper's numbers: the m^n table (MTAT clip-level ROC-AUC per m, n and input length) of Lee,
Park, Kim, Nam, "Sample-level Deep Convolutional Neural Networks for Music Auto-tagging
Using Raw Waveforms", SMC 2017, arXiv:1703.01789 (in the code:
`keras_samplecnn.models.smc2017_table()`, each row's `mtat_auc`). The frame baseline is
that table's 3^4 row on 59049 samples (.8655); the paper's mel model (.9059) does not
publish its frame sizes, so no paper number is given for `mel`.

Hardware and time: on one GPU each row is a full mtat_basic run (hours; the 2^n and short
rows are cheaper per segment but have more segments per clip), so the whole table is days;
run a few rows at a time, reruns resume. --demo has not been run end to end: a 3^9 row at a
quarter of the widths on 22050-Hz audio does about 5 times the work per epoch of the
`mtat_se.py --demo` model (3^8 on 16 kHz audio, profiles/cpu.yaml), whose 5 epochs train in
147 s on a 2-core CPU with a 206 GFLOP/s matmul peak, so expect about 12 minutes of training
per such row there (an estimate). The tiny test demo (48 clips of 3 s, 1 epoch of 2 steps,
two short rows) takes well under a minute.
"""

from keras_samplecnn.experiments import main

if __name__ == "__main__":
    main("mtat_mn_table", __doc__)
