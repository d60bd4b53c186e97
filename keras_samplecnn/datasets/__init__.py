"""Dataset helpers: the embedded demo dataset (a synthetic MagnaTagATune) and MTAT's layout.

```python
from keras_samplecnn.datasets import make_demo_mtat, demo_tags
make_demo_mtat("data/demo_mtat", n_clips=400)  # then: python -m tfrecords_tools mtat --root data/demo_mtat ...
```
"""

from keras_samplecnn.datasets import mtat_layout
from keras_samplecnn.datasets.demo_mtat import demo_plan, demo_tags, make_demo_mtat, render_clip

__all__ = ["demo_plan", "demo_tags", "make_demo_mtat", "mtat_layout", "render_clip"]
