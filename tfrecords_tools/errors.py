"""Exceptions of the converters: bad dataset layout (fatal) and failed shards (resumable)."""


class DatasetError(Exception):
    """The input cannot be read as the expected layout: a missing root or CSV, a CSV in the
    wrong format, a missing column. Conversion stops at once; the CLI exits with code 2.

    Individual bad clips (an empty or corrupt audio file, a path that does not exist) are not
    `DatasetError`s: they are logged, listed in `rejected.csv`, and the conversion goes on.
    """


class ShardWriteError(RuntimeError):
    """One or more shards failed to write (e.g. disk full, a crash in a worker).

    The shards that did finish are complete and recorded; rerunning the same command resumes
    the conversion and writes only the missing shards.
    """
