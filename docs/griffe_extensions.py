"""A griffe extension for the API reference (`extensions:` of mkdocstrings in mkdocs.yml).

The package's docstrings head their doctests `Example:` (the Google style guide's word), often
with the `>>>` lines at the heading's own indentation. griffe's Google parser knows only an
indented `Examples:` section, and would render those `>>>` lines as Markdown text. This
rewrites such a heading, and indents its lines up to the next blank line, in the docstring
griffe reads, not in the code.
"""

import re

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$")


def examples_sections(text):
    """`text` with every `Example:` heading directly followed by `>>>` lines turned into an
    indented Google-style `Examples:` section."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        match = _HEADING.match(lines[i])
        if not match or i + 1 >= len(lines) or not lines[i + 1].lstrip().startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = match.group(1)
        out.append(f"{indent}Examples:")
        i += 1
        nested = len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        while i < len(lines) and lines[i].strip():
            out.append(lines[i] if nested else "    " + lines[i])
            i += 1
    return "\n".join(out)


class ExampleSections(griffe.Extension):
    """Reads an `Example:` heading over doctest lines as Google style's `Examples:` section."""

    def on_instance(self, *, obj, **kwargs):
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = examples_sections(docstring.value)
