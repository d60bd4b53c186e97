"""Every `>>>` example in the package's docstrings runs and prints what it shows (doctest).

Examples marked `# doctest: +SKIP` (a trained model or a real file they need) are not run.
The demo generators' examples synthesise whole demo datasets (15-60 s and up to 600 MB each),
so they are `large`. Each example runs in a fresh temporary folder.
"""

import doctest
import importlib
import io
import pkgutil

import pytest

import keras_samplecnn
import tfrecords_tools

SLOW_PREFIX = "keras_samplecnn.datasets."


def module_names():
    for package in (keras_samplecnn, tfrecords_tools):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):  # running it is the command-line program
                yield info.name


def collect():
    finder, found = doctest.DocTestFinder(), []
    for name in module_names():
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional extra (e.g. apache-beam) that is not installed
            continue
        found += [test for test in finder.find(module, name) if test.examples]
    return sorted(found, key=lambda test: test.name)


EXAMPLES = collect()


def test_examples_were_found():
    names = {test.name for test in EXAMPLES}
    assert "keras_samplecnn.layers.sample_conv.SampleConv" in names and len(names) >= 15


@pytest.mark.parametrize(
    "test",
    [pytest.param(t, id=t.name, marks=[pytest.mark.large] if t.name.startswith(SLOW_PREFIX) else [])
     for t in EXAMPLES],
)  # fmt: skip
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=report.write, clear_globs=True)
    assert result.failed == 0, report.getvalue()[-4000:]
    assert result.attempted > 0 or all(example.options.get(doctest.SKIP) for example in test.examples)
