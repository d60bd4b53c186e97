"""No import circles in keras_samplecnn and tfrecords_tools: no module imports one that imports it
back, directly or through others, counting every import statement (at the top of a module or
inside a function), read from the source with `ast`."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
