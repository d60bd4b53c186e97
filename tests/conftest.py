import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import pytest


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    """Each test starts with float32, whatever the previous one set."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def pytest_runtest_logreport(report):
    """Appends the id of each skipped test to `$SAMPLECNN_RECORD_SKIPPED`, when it is set.

    `.ci/run` runs the README's test command in the README's environment first, recording what
    it skipped (a missing optional backend or extra), then reruns exactly those tests where
    every extra is installed and a skip is a failure (`SAMPLECNN_REQUIRE_BACKENDS`).
    """
    path = os.environ.get("SAMPLECNN_RECORD_SKIPPED")
    if path and report.skipped and not hasattr(report, "wasxfail"):
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(report.nodeid + "\n")


@pytest.fixture(scope="session")
def tiny_mtat(tmp_path_factory):
    """The tiny MTAT-layout dataset of audible tag tones, converted once per test session
    (`tests/tiny_data.py`); tests read it and write their runs elsewhere."""
    from tests.tiny_data import make_tiny_mtat

    return make_tiny_mtat(str(tmp_path_factory.mktemp("tiny_mtat")))
