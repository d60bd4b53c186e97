"""MkDocs hooks of the documentation site (`hooks:` in mkdocs.yml).

- `on_pre_build` fails the build when a public name of a module documented under `docs/api/`
  has no docstring (`missing_docstrings`).
- `on_pre_build` also makes the figures and command outputs of `docs/figures.py` (from cached
  demo runs) and executes the notebooks (`executed_notebooks`, cached by their source).
- `on_files` adds those figures (`figures/NAME.png`) and the executed notebooks as pages
  (rendered by mkdocs-jupyter).
- `on_page_markdown` replaces the markers below with text generated from the code:
  `<!-- generated: model-zoo -->` (the parameter table of `samplecnn models`),
  `<!-- generated: smc2017-table -->` (the SMC 2017 m^n presets with the paper's AUCs),
  `<!-- generated: presets -->` (the pretrained models of `keras_samplecnn.from_preset`),
  `<!-- generated: cli -->` (every subcommand's help, from the argparse parsers),
  `<!-- generated: fidelity -->` (the fidelity tables, `docs/fidelity.py` over `docs/fidelity.yaml`),
  `<!-- figure: NAME -->` (a figure of `docs/figures.py` with its caption),
  `<!-- output: NAME -->` (a command of `docs/figures.py` and what it printed).

The check is importable on its own: `missing_docstrings(module)` takes any module object.
"""

import argparse
import contextlib
import glob
import hashlib
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_DIR = os.path.join(ROOT, "docs", "api")
NOTEBOOKS_DIR = os.path.join(ROOT, "notebooks")
ASSETS = os.path.join(ROOT, "build", "docs_assets")
EXECUTED_DIR = os.path.join(ASSETS, "notebooks")

MARKERS = {
    "model-zoo": "_model_zoo",
    "smc2017-table": "_smc2017_table",
    "presets": "_presets_table",
    "cli": "_cli_reference",
    "fidelity": "_fidelity_tables",
}
_MARKER = re.compile(r"<!-- generated: ([a-z0-9-]+) -->")
_ASSET = re.compile(r"^<!-- (figure|output): ([a-z0-9-]+) -->$", re.MULTILINE)
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


# --- the missing-docstring check ---------------------------------------------------------------


def public_names(module):
    """The public names of `module`: its `__all__`, or else every public class and function
    defined in it (not imported into it)."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def _own_docstring(value):
    """The docstring `value` itself has: a class's is not inherited, a data value's is the
    attribute docstring griffe finds (None here)."""
    if inspect.isclass(value):
        doc = vars(value).get("__doc__")
    elif inspect.ismodule(value) or inspect.isroutine(value) or isinstance(value, types.MethodType):
        doc = value.__doc__
    else:
        return None
    return doc if isinstance(doc, str) else None


def _attribute_docstring(module_name, name):
    """The docstring of a module-level attribute as mkdocstrings sees it (the string literal
    after the assignment), found by griffe through re-exports; None where there is none."""
    try:
        import griffe

        obj = griffe.load(module_name, resolve_aliases=True, resolve_external=False)[name]
        while getattr(obj, "is_alias", False):
            obj = obj.final_target
        return obj.docstring.value if obj.docstring else None
    except Exception:  # not a real module, not found statically, griffe missing: no docstring
        return None


def missing_docstrings(module):
    """The public names of `module` (see `public_names`) without a non-empty docstring.

    Args:
        module: a module object (a real one, or a `types.ModuleType` built by hand).

    Returns:
        a sorted list of `module.name` strings; names in `__all__` that do not exist count
        as missing too.
    """
    missing = []
    for name in public_names(module):
        try:
            value = getattr(module, name)
        except AttributeError:
            missing.append(f"{module.__name__}.{name} (listed in __all__, not defined)")
            continue
        doc = _own_docstring(value)
        if doc is None and not (inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value)):
            doc = _attribute_docstring(module.__name__, name)
        if not (doc and doc.strip()):
            missing.append(f"{module.__name__}.{name}")
    return sorted(missing)


def documented_targets(api_dir=API_DIR):
    """The dotted names of every `::: name` directive in the API pages, in page order."""
    targets = []
    for path in sorted(glob.glob(os.path.join(api_dir, "*.md"))):
        with open(path, encoding="utf-8") as handle:
            targets += [t for t in _DIRECTIVE.findall(handle.read()) if t not in targets]
    return targets


def _resolve(target):
    """The module or object a dotted name names (imports the longest module prefix)."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            value = getattr(value, part)
        return value
    raise ImportError(f"cannot import {target}")


def check_documented(api_dir=API_DIR):
    """Every missing docstring among the API pages' targets: a module's public names, or the
    object itself when a directive names a class or function."""
    missing = []
    for target in documented_targets(api_dir):
        value = _resolve(target)
        if inspect.ismodule(value):
            if not (value.__doc__ or "").strip():
                missing.append(f"{target} (module docstring)")
            missing += missing_docstrings(value)
        elif not (_own_docstring(value) or "").strip():
            missing.append(target)
    return sorted(set(missing))


# --- generated content -------------------------------------------------------------------------


def _model_zoo():
    from keras_samplecnn.models.registry import parameter_table

    return parameter_table()


def _smc2017_table():
    from keras_samplecnn.models.registry import smc2017_table

    rows = [
        "| preset (`build(name)`) | m | n | input (samples) | the paper's MTAT ROC-AUC |",
        "|---|---:|---:|---:|---:|",
    ]
    for preset in smc2017_table():
        args = preset.arguments
        auc = f"{preset.mtat_auc:.4f}" if preset.mtat_auc is not None else "—"
        rows.append(
            f"| `{preset.name}` | {args.get('m', 3)} | {args.get('n', 9)} | {preset.input_length} | {auc} |"
        )
    return "\n".join(rows)


def _docs_module(name):
    """A module of docs/ (`fidelity`, `figures`), loaded by path once."""
    import importlib.util

    key = f"docs_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, os.path.join(ROOT, "docs", f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key]


def _fidelity_tables():
    return _docs_module("fidelity").tables()


def _presets_table():
    from keras_samplecnn.presets import preset_table

    return preset_table()


@contextlib.contextmanager
def _columns(width):
    """argparse wraps help to $COLUMNS: fixed here so the page does not depend on the terminal."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def subcommands(parser):
    """`{name: (subparser, help)}` of an argparse parser's subcommands, in the order they were
    added (help: the one-line summary the parent's help lists, or None)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            return {name: (sub, helps.get(name)) for name, sub in action.choices.items()}
    return {}


def _parser_section(parser, heading_level, title, summary=None):
    with _columns(100):
        text = parser.format_help()
    lead = f"{summary[0].upper()}{summary[1:].rstrip('.')}.\n\n" if summary else ""
    return f"{'#' * heading_level} `{title}`\n\n{lead}```text\n{text.rstrip()}\n```\n"


def _cli_reference():
    from keras_samplecnn.cli import build_parser as samplecnn_parser
    from tfrecords_tools.cli import build_parser as converter_parser

    sections = []
    for parser in (samplecnn_parser(), converter_parser()):
        sections.append(_parser_section(parser, 2, parser.prog))
        for subparser, summary in subcommands(parser).values():
            sections.append(_parser_section(subparser, 3, subparser.prog, summary))
    return "\n".join(sections)


# --- figures, command outputs and notebooks ------------------------------------------------------

WEIGHTS_NOTE = (
    '!!! info "Not in this build of the site"\n'
    "    This {kind} comes from the ISMIR 2018 authors' released encoder, whose weights were not\n"
    "    found when the site was built: set `SAMPLECNN_WEIGHTS_DIR` to a folder holding them (see\n"
    "    [where the weights come from]({root}pretrained.md#where-the-weights-come-from)) and build again.\n"
)


def _asset(kind, name, src_uri):
    """The Markdown of `<!-- figure: NAME -->` or `<!-- output: NAME -->` on page `src_uri`."""
    from mkdocs.exceptions import PluginError

    root = "../" * src_uri.count("/")
    folder = os.path.join(ASSETS, "figures" if kind == "figure" else "outputs")
    meta = os.path.join(folder, f"{name}.json")
    if not os.path.exists(meta):
        figures = _docs_module("figures")
        known = set(figures.FIGURES) | {n for names in figures.OUTPUT_NAMES.values() for n in names}
        if name not in known:
            raise PluginError(f"{src_uri}: unknown {kind} {name!r}; known: {sorted(known)}")
        if name in figures.NEEDS_WEIGHTS or name.startswith("pretrained"):
            return WEIGHTS_NOTE.format(kind=kind, root=root)
        raise PluginError(f"{src_uri}: the {kind} {name!r} was not made (run python docs/figures.py)")
    with open(meta, encoding="utf-8") as handle:
        made = json.load(handle)
    if kind == "figure":
        return f"![{name}]({root}figures/{name}.png)\n\n*{made['caption']}*\n"
    language = "python" if "\n" in made["command"] else "bash"
    where = f"Printed on a {made['machine']} when this site was built ({made['made']})."
    return f"```{language}\n{made['command']}\n```\n\n```text\n{made['text'].rstrip()}\n```\n\n{where}\n"


def _notebook_key(path, run_dir):
    """Source bytes of the notebook and the model it analyses: a change of either reruns it."""
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read())
    model = os.path.join(run_dir, "best.keras")
    if os.path.exists(model):
        digest.update(str(os.path.getmtime(model)).encode())
    return digest.hexdigest()


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def executed_notebooks(force=False):
    """Executes every notebook of `notebooks/` into `build/docs_assets/notebooks/`, so the site
    shows their figures and printed results (what they write to stderr, TensorFlow's start-up
    log among it, is left out): in their quick mode, on the quick start's demo model
    (`runs/mtat_se_demo`, which `docs/figures.py` makes). A notebook whose source and model
    have not changed since its last run is not run again.

    Returns:
        the paths of the executed notebooks.
    """
    import nbformat
    from nbclient import NotebookClient

    os.makedirs(EXECUTED_DIR, exist_ok=True)
    run_dir = os.path.join(ROOT, "runs", "mtat_se_demo")
    env = {"SAMPLECNN_NOTEBOOK_QUICK": "1", "SAMPLECNN_REPO": ROOT, "SAMPLECNN_RUN": run_dir,
           "TF_CPP_MIN_LOG_LEVEL": "3"}  # fmt: skip
    written = []
    for path in sorted(glob.glob(os.path.join(NOTEBOOKS_DIR, "*.ipynb"))):
        target = os.path.join(EXECUTED_DIR, os.path.basename(path))
        key = _notebook_key(path, run_dir)
        stamp = target + ".key"
        if not force and os.path.exists(target) and _read_text(stamp) == key:
            written.append(target)
            continue
        notebook = nbformat.read(path, as_version=4)
        old = {name: os.environ.get(name) for name in (*env, "SAMPLECNN_MODEL", "SAMPLECNN_SONG")}
        os.environ.update(env)  # the kernel inherits this process's environment
        os.environ.pop("SAMPLECNN_MODEL", None)  # the demo model, not one a reader set
        os.environ.pop("SAMPLECNN_SONG", None)
        try:
            NotebookClient(notebook, timeout=900, kernel_name="python3",
                           resources={"metadata": {"path": NOTEBOOKS_DIR}}).execute()  # fmt: skip
        finally:
            for name, value in old.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        for cell in notebook.cells:  # TensorFlow's start-up log lines and library warnings, not results
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
                for output in cell.outputs:  # paths relative to the repository, not to this machine
                    if output.output_type == "stream":
                        output.text = output.text.replace(ROOT + os.sep, "")
        nbformat.write(notebook, target)
        with open(stamp, "w", encoding="utf-8") as handle:
            handle.write(key)
        written.append(target)
    return written


# --- MkDocs events -----------------------------------------------------------------------------


def on_pre_build(config, **kwargs):
    from mkdocs.exceptions import PluginError

    missing = check_documented()
    if missing:
        raise PluginError(
            "public names without a docstring (documented in docs/api/):\n  " + "\n  ".join(missing)
        )
    # In a subprocess: the demos and models load TensorFlow, which this process need not hold.
    done = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "figures.py")], cwd=ROOT, check=False)
    if done.returncode:
        raise PluginError("docs/figures.py failed (its output is above)")
    try:
        executed_notebooks()
    except Exception as error:  # a notebook that no longer runs fails the build
        raise PluginError(f"a notebook failed to run: {error}") from error


try:
    from mkdocs.plugins import event_priority
except ImportError:  # the check above is importable without mkdocs

    def event_priority(priority):
        return lambda function: function


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    for path in sorted(glob.glob(os.path.join(NOTEBOOKS_DIR, "*.ipynb"))):
        src_uri = f"notebooks/{os.path.basename(path)}"
        if files.get_file_from_path(src_uri) is None:
            # the executed copy, whose source folder is build/docs_assets (mkdocs-jupyter reads it by path)
            files.append(File(src_uri, ASSETS, config["site_dir"], config["use_directory_urls"]))
    for path in sorted(glob.glob(os.path.join(ASSETS, "figures", "*.png"))):
        src_uri = f"figures/{os.path.basename(path)}"
        if files.get_file_from_path(src_uri) is None:
            files.append(File(src_uri, ASSETS, config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    from mkdocs.exceptions import PluginError

    def replace(match):
        name = match.group(1)
        if name not in MARKERS:
            raise PluginError(f"{page.file.src_uri}: unknown marker {match.group(0)}; known: {sorted(MARKERS)}")
        return globals()[MARKERS[name]]()

    markdown = _MARKER.sub(replace, markdown)
    return _ASSET.sub(lambda match: _asset(match.group(1), match.group(2), page.file.src_uri), markdown)
