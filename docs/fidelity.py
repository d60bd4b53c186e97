"""The fidelity tables of `docs/fidelity.md`: per paper, each setting that matters, the authors'
value with its file and commit, ours read from the package at build time, and the test that
checks ours.

The rows live in `docs/fidelity.yaml`. A row's `ours` names where our value comes from, so the
column cannot drift from the code:

- `config FILE KEY`: a key of a recipe config (`keras_samplecnn/experiments/configs/FILE`, after its `extends:`),
  dotted for nested sections (`training.learning_rate`);
- `code MODULE:NAME`: a module attribute (dotted for an attribute of it, `DCUE.levels` no);
- `default MODULE:CALLABLE:ARGUMENT`: a function's or class's default argument.

`expected` lists the authors' values in the same order, for `tests/package/test_fidelity.py` to compare;
a deliberate difference has `differs: <reason>` instead (and appears in the table with it).
"""

import importlib
import inspect
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = os.path.join(ROOT, "docs", "fidelity.yaml")
CONFIGS = os.path.join(ROOT, "keras_samplecnn", "experiments", "configs")


def load_rows(path=ROWS):
    """The papers and their rows, from `docs/fidelity.yaml`."""
    from keras_samplecnn import safe_yaml

    with open(path, encoding="utf-8") as handle:
        return safe_yaml.load(handle)["papers"]


def _config(name):
    from keras_samplecnn.training import config as config_lib

    return config_lib.read_values(os.path.join(CONFIGS, name))


def value_of(source):
    """Our value named by one `ours` entry (see the module docstring)."""
    kind, _, rest = source.partition(" ")
    if kind == "config":
        name, key = rest.split()
        value = _config(name)
        for part in key.split("."):
            value = value[part]
        return value
    if kind == "code":
        module, name = rest.split(":")
        return getattr(importlib.import_module(module), name)
    if kind == "default":
        module, target, argument = rest.split(":")
        return inspect.signature(getattr(importlib.import_module(module), target)).parameters[argument].default
    raise ValueError(f"unknown source kind {kind!r} in {source!r}; expected config, code or default")


def _label(source):
    kind, _, rest = source.partition(" ")
    if kind == "config":
        name, key = rest.split()
        return f"`{name}` `{key}`"
    if kind == "code":
        return f"`{rest.replace(':', '.')}`"
    module, target, argument = rest.split(":")
    return f"`{target}({argument}=)`"


def _show(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(paper):
    """One paper's rows as a Markdown table."""
    lines = [
        f"### {paper['name']}",
        "",
        f"Authors' code: {paper['code']}.",
        "",
        "| setting | the authors' | where | ours (read from the package) | checked by |",
        "|---|---|---|---|---|",
    ]
    for row in paper["rows"]:
        ours = "; ".join(f"{_label(s)} = {_show(value_of(s))}" for s in row["ours"])
        if "differs" in row:
            ours += (" — " if ours else "") + f"**differs**: {row['differs']}"
        elif not ours:
            ours = "as theirs (see the test)"
        test = row["test"].split("::")
        checked = f"`{os.path.basename(test[0])}`" + (f" `{test[1]}`" if len(test) > 1 else "")
        lines.append(f"| {_cell(row['setting'])} | {_cell(row['authors'])} | {_cell(row['where'])} | "
                     f"{_cell(ours)} | {checked} |")  # fmt: skip
    return "\n".join(lines)


def tables():
    """Every paper's table, for the `<!-- generated: fidelity -->` marker."""
    return "\n\n".join(table(paper) for paper in load_rows())
