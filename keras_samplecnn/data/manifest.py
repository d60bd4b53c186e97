"""Reading the `manifest.json` that `tfrecords_tools` writes beside the shards (no TensorFlow).

The manifest is the dataset's contract with the pipelines and the models:

```json
{"tags": ["guitar", ...], "task": "multi_label", "sample_rate": 22050, "segment_length": 59049,
 "splits": {"train": {"clips": 15244, "segments": 152440,
                      "shards": [{"file": "train-00000-of-00016.tfrecord", "records": 953,
                                  "sha256": "..."}, ...]}, ...}}
```

Example:

```python
manifest = read_manifest("data/mtat_tfrecords")
manifest.tags, manifest.sample_rate, manifest.num_clips("train")
manifest.shard_files("train")  # absolute paths, in the manifest's order
manifest["splits"]["train"]["clips"]  # it is also the plain dict
```
"""

import json
import os

from keras_samplecnn.data import schema


class ManifestError(ValueError):
    """A manifest that is missing, unreadable or lacks a key the pipelines need."""


class Manifest(dict):
    """The parsed `manifest.json` of a converted dataset: a dict, plus typed accessors.

    Args:
        content: the JSON object.
        directory: the folder holding the manifest and its shards.
    """

    def __init__(self, content, directory):
        super().__init__(content)
        self.directory = os.fspath(directory)
        self._validate()

    def _validate(self):
        where = os.path.join(self.directory, schema.MANIFEST)
        for key in ("tags", "sample_rate", "splits"):
            if key not in self:
                raise ManifestError(f"{where}: missing key {key!r}")
        # An empty list: a dataset without labels (taste-profile songs, paired with interactions).
        if not isinstance(self["tags"], list):
            raise ManifestError(f"{where}: 'tags' must be a list of tag names")
        if not isinstance(self["splits"], dict):
            raise ManifestError(f"{where}: 'splits' must map split names to their shards")
        for name, info in self["splits"].items():
            shards = info.get("shards") if isinstance(info, dict) else None
            if not isinstance(shards, list) or any("file" not in s for s in shards):
                raise ManifestError(
                    f"{where}: split {name!r} needs 'shards': [{{'file': ..., 'records': N}}, ...]"
                )

    @property
    def tags(self):
        """Tag (class) names, in label order."""
        return list(self["tags"])

    @property
    def num_labels(self):
        return len(self["tags"])

    @property
    def sample_rate(self):
        return int(self["sample_rate"])

    @property
    def task(self):
        """`"multi_label"` (sigmoid outputs) or `"single_label"` (softmax)."""
        return self.get("task", "multi_label")

    @property
    def segment_length(self):
        """The segment length the dataset was converted for (None if not recorded)."""
        return self.get("segment_length")

    @property
    def split_names(self):
        return list(self["splits"])

    def split(self, name):
        """The manifest entry of split `name`, with a clear error for an unknown split."""
        if name not in self["splits"]:
            raise ManifestError(f"{self.directory} has no split {name!r}; it has {sorted(self['splits'])}")
        return self["splits"][name]

    def num_clips(self, name):
        """Clips (records) in a split."""
        info = self.split(name)
        return int(info.get("clips", sum(self.shard_records(name))))

    def num_segments(self, name):
        """Non-overlapping full segments in a split (what `eval_dataset` yields), if recorded."""
        return self.split(name).get("segments")

    def shard_files(self, name):
        """Absolute paths of the shards of a split, in the manifest's order."""
        return [os.path.join(self.directory, shard["file"]) for shard in self.split(name)["shards"]]

    def shard_records(self, name):
        """Records per shard of a split (None for a shard whose count is not recorded)."""
        return [shard.get("records") for shard in self.split(name)["shards"]]


def read_manifest(data_dir):
    """Read and check the `manifest.json` of a converted dataset.

    Args:
        data_dir: the folder written by `tfrecords_tools` (or the manifest's own path).

    Returns:
        a `Manifest` (a dict with accessors).

    Raises:
        ManifestError: no manifest (conversion not run or not finished) or a malformed one.
    """
    data_dir = os.fspath(data_dir)
    path = (
        data_dir if os.path.basename(data_dir) == schema.MANIFEST else os.path.join(data_dir, schema.MANIFEST)
    )
    if not os.path.exists(path):
        raise ManifestError(
            f"{os.path.dirname(path) or '.'} has no {schema.MANIFEST}: convert the dataset first "
            "(e.g. python -m tfrecords_tools mtat --root MTAT_DIR --out DIR); the manifest is written "
            "last, so a missing one can also mean the conversion did not finish"
        )
    try:
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"cannot read {path}: {error}") from error
    return Manifest(content, os.path.dirname(path))


def resolve_shards(data, split, num_labels=None):
    """The shards to read: `(files, records per file or None, number of labels)`.

    Shared by the tf.data pipelines and the TensorFlow-free reader (`portable`).

    Args:
        data: a converted folder (with `manifest.json`), one TFRecord file, or a list of them.
        split: the split to read from a folder.
        num_labels: labels per record; needed for files without a manifest beside them.

    Raises:
        ManifestError: the split has no shards.
        ValueError: `num_labels` disagrees with the manifest, or is missing for bare files.
        FileNotFoundError: a listed file does not exist.
    """
    if isinstance(data, (str, os.PathLike)) and os.path.isdir(data):
        manifest = read_manifest(data)
        files = manifest.shard_files(split)
        if not files:
            raise ManifestError(f"split {split!r} of {data} has no shards")
        records = manifest.shard_records(split)
        records = None if any(r is None for r in records) else records
        if num_labels is not None and num_labels != manifest.num_labels:
            raise ValueError(f"num_labels={num_labels} but {data} has {manifest.num_labels} tags")
        return files, records, manifest.num_labels
    files = [os.fspath(data)] if isinstance(data, (str, os.PathLike)) else [os.fspath(f) for f in data]
    if not files:
        raise ValueError("no TFRecord files given")
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} TFRecord file(s) not found, e.g. {missing[0]}")
    records = None
    folder = os.path.dirname(os.path.abspath(files[0]))
    if os.path.exists(os.path.join(folder, schema.MANIFEST)):
        # Shards of a converted dataset passed one by one: take the tags and counts from it.
        manifest = read_manifest(folder)
        counts = {
            os.path.join(folder, s["file"]): s.get("records")
            for info in manifest["splits"].values()
            for s in info["shards"]
        }
        found = [counts.get(os.path.abspath(f)) for f in files]
        records = None if any(r is None for r in found) else found
        num_labels = manifest.num_labels if num_labels is None else num_labels
    if num_labels is None:
        raise ValueError(
            "num_labels is needed for TFRecord files without a manifest.json beside them "
            "(pass num_labels=K, the length of each record's labels)"
        )
    return files, records, int(num_labels)
