"""Error messages as one short line, for command-line errors, warnings and `rejected.csv`."""


def one_line(error, limit=1000, with_type=False):
    """`error` (an exception or any text) on one line of at most `limit` characters.

    YAML, TensorFlow and OS errors often span several lines; a config value or a library's
    message can be megabytes long.

    Args:
        error: an exception, or anything `str()` takes.
        limit: the most characters kept; a longer text ends with `...`.
        with_type: put the exception's class name first (`MemoryError: ...`), for messages
            where the type says what happened.
    """
    text = " ".join(str(error).split())
    if with_type and isinstance(error, BaseException):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    text = text or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def needs_extra(module, extra, purpose):
    """`import module`, or an ImportError that names the extra to install.

    Args:
        module: the module's import name (`"implicit.cpu.als"`, `"faiss"`).
        extra: the keras_samplecnn extra that installs it (`"recommend"`).
        purpose: what needs it, for the message (`"the ALS baseline"`).
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{purpose} needs {module.split('.')[0]}: pip install 'keras_samplecnn[{extra}]' "
            f"({one_line(error)})"
        ) from error
