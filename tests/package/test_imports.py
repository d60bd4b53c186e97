"""No import circles in keras_samplecnn and tfrecords_tools: no module imports one that imports it
back, directly or through others, counting every import statement (at the top of a module or
inside a function), read from the source with `ast`."""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("keras_samplecnn", "tfrecords_tools")


def _modules():
    """`{dotted name: path}` of every module of the packages."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, ROOT)[: -len(".py")].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = path
    return found


def import_graph(modules):
    """`{module: modules it imports}`: an import names the deepest module of ours it reaches
    (`from a.b import c` is `a.b.c` when that is a module, else `a.b`)."""

    def ours(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(ours(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets.update(ours(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else ours(base)
                               for alias in node.names)  # fmt: skip
        graph[module] = targets - {None, module}
    return graph


def circles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert circles(import_graph(_modules())) == []


def test_the_check_finds_a_circle_through_a_function_level_import(tmp_path):
    # The check can fail: two modules, one importing the other inside a function.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import thing\n")
    (tmp_path / "pkg" / "b.py").write_text("def thing():\n    from pkg import a\n")
    modules = {"pkg": str(tmp_path / "pkg" / "__init__.py"), "pkg.a": str(tmp_path / "pkg" / "a.py"),
               "pkg.b": str(tmp_path / "pkg" / "b.py")}  # fmt: skip
    assert circles(import_graph(modules)) == [["pkg.a", "pkg.b"]]


def test_the_converters_import_no_demo_generator():
    # Layers, lowest first: the converters read layouts; the demo generators write them and sit
    # above, so a converter never imports keras_samplecnn.datasets.
    graph = import_graph(_modules())
    upward = {module: sorted(target for target in targets if target.startswith("keras_samplecnn.datasets"))
              for module, targets in graph.items() if module.startswith("tfrecords_tools")}  # fmt: skip
    assert {module: targets for module, targets in upward.items() if targets} == {}


def test_nothing_below_the_experiments_imports_them():
    # The experiments sit on top: only the command line (and they themselves) may import them.
    graph = import_graph(_modules())
    upward = sorted(module for module, targets in graph.items()
                    if any(t.startswith("keras_samplecnn.experiments") for t in targets)
                    and not module.startswith("keras_samplecnn.experiments") and module != "keras_samplecnn.cli")  # fmt: skip
    assert upward == []


def _run(code):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_package_and_the_converters_import_no_keras():
    modules = sorted(m for m in _modules() if m.startswith("tfrecords_tools") and m != "tfrecords_tools.beam_pipeline")
    code = ("import sys, importlib\nimport keras_samplecnn\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")  # fmt: skip
    assert _run(code).stdout.strip() == "[]"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A model file of ours (SE blocks and the StepDecaySGD optimizer) written by another process."""
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    _run(f"import keras_samplecnn\nm = keras_samplecnn.build('se', num_classes=3, n=3, stem_filters=4, filters=[4, 4, 4])\n"
         f"from keras_samplecnn.training.optimizers import StepDecaySGD\nm.compile(optimizer=StepDecaySGD(0.01), loss='mse')\n"
         f"m.save({str(path)!r})")  # fmt: skip
    return path


@pytest.mark.parametrize(
    "first",
    [
        "import keras_samplecnn\nimport keras",  # the package, then Keras
        "import keras_samplecnn\nimport tensorflow\nimport keras",  # TensorFlow imports Keras halfway through
        "import keras_samplecnn.layers\nimport keras",  # a subpackage whose own import brings Keras in
    ],
)
def test_keras_loads_our_models_whatever_was_imported_first(first, saved_model):
    result = _run(f"{first}\nmodel = keras.saving.load_model({str(saved_model)!r})\n"
                  "print(type(model.optimizer).__name__, sorted({type(l).__name__ for l in model.layers}))")  # fmt: skip
    assert result.stdout.startswith("StepDecaySGD") and "SEBlock" in result.stdout, result.stdout
