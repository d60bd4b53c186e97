"""Dataset helpers: the embedded demo datasets (a synthetic MagnaTagATune, a synthetic Speech
Commands v0.02, a synthetic DCASE 2017 Task 4, a synthetic GTZAN of six genres, synthetic
artists for artist-label learning, synthetic listeners of them in the Taste Profile layout for
DCUE, a tiny Million Song Dataset tagging collection for its converter) and MTAT's layout.

```python
from keras_samplecnn.datasets import make_demo_mtat, demo_tags
make_demo_mtat("data/demo_mtat", n_clips=400)  # then: python -m tfrecords_tools mtat --root data/demo_mtat ...

from keras_samplecnn.datasets import make_demo_speech_commands
make_demo_speech_commands("data/demo_sc")  # then: python -m tfrecords_tools speech-commands --root data/demo_sc ...

from keras_samplecnn.datasets import make_demo_dcase2017
make_demo_dcase2017("data/demo_dcase2017")  # DCASE 2017 Task 4's release layout, 580 clips

from keras_samplecnn.datasets import make_demo_gtzan
make_demo_gtzan("data/demo_gtzan")  # then: python -m tfrecords_tools gtzan --root data/demo_gtzan ...

from keras_samplecnn.datasets import make_demo_artists
make_demo_artists("data/demo_artists")  # then: python -m tfrecords_tools artists --audio-dir ...

from keras_samplecnn.datasets import make_demo_listeners
make_demo_listeners("data/demo_listeners")  # Taste Profile layout: train_triplets.txt, unique_tracks.txt

from keras_samplecnn.datasets import make_demo_msd
make_demo_msd("data/demo_msd")  # MSD tagging layouts: previews, split lists, Last.fm tags (tests the converter)
```
"""

from keras_samplecnn.datasets.demo_artists import artists_plan, make_demo_artists
from keras_samplecnn.datasets.demo_dcase2017 import make_demo_dcase2017
from keras_samplecnn.datasets.demo_gtzan import make_demo_gtzan
from keras_samplecnn.datasets.demo_listeners import listeners_plan, make_demo_listeners
from keras_samplecnn.datasets.demo_msd import make_demo_msd
from keras_samplecnn.datasets.demo_mtat import demo_plan, demo_tags, make_demo_mtat, render_clip
from keras_samplecnn.datasets.demo_speech_commands import make_demo_speech_commands
from tfrecords_tools import mtat_layout  # the layout facts live with the converter that reads them

__all__ = [
    "artists_plan",
    "demo_plan",
    "demo_tags",
    "listeners_plan",
    "make_demo_artists",
    "make_demo_dcase2017",
    "make_demo_gtzan",
    "make_demo_listeners",
    "make_demo_msd",
    "make_demo_mtat",
    "make_demo_speech_commands",
    "mtat_layout",
    "render_clip",
]
