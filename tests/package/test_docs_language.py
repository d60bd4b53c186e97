"""The user-facing text (README, docs/, the notebooks) names nothing a reader cannot follow: no
notes outside the repository, no working sessions, no unnumbered issues."""

import glob
import json
import os
import re

import keras_samplecnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Each phrase as a pattern, matched case-insensitively; a pattern is narrowed where the words
# have a legitimate use (`tests/helpers.py` is a file users can open).
PHRASES = {
    "papers.md": r"\bpapers\.md\b",
    "datasets.md": r"\bdatasets\.md\b",
    "style.md": r"\bstyle\.md\b",
    "../shared": r"\.\./shared\b",
    "earlier session": r"\bearlier session",
    "previous session": r"\bprevious session",
    "this session": r"\bthis session",
    "summary we work from": r"\bsummary we work from",
    "the summary": r"\bthe summary\b",
    "(not found": r"\(not found",
    "issue #": r"\bissue #",
    "issue N": r"\bissues? \d",  # this project's issue numbers mean nothing to a reader
    "working sessions": r"\b(?:the|our|these|those|earlier|later) sessions\b",
    "helper": r"\bhelpers?\b(?!\.py)",
}
PATTERNS = {phrase: re.compile(pattern, re.IGNORECASE) for phrase, pattern in PHRASES.items()}


def find_internal_phrases(text, name):
    """`name:line: "phrase" in: the line` for every occurrence of a phrase of `PHRASES` in `text`."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for phrase, pattern in PATTERNS.items():
            if pattern.search(line):
                found.append(f'{name}:{number}: "{phrase}" in: {line.strip()}')
    return found


def user_facing_texts():
    """`(name, text)` of README.md, every .md under docs/, the notebooks' markdown cells and
    notebooks/make_notebooks.py (the cells' source); a markdown cell is named `path:cell N`."""
    paths = [os.path.join(ROOT, "README.md")]
    paths += sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    paths.append(os.path.join(ROOT, "notebooks", "make_notebooks.py"))
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            yield os.path.relpath(path, ROOT), handle.read()
    for path in sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb"))):
        with open(path, encoding="utf-8") as handle:
            notebook = json.load(handle)
        for index, cell in enumerate(notebook["cells"], start=1):
            if cell["cell_type"] == "markdown":
                source = cell["source"]  # a list of lines or one string (nbformat allows both)
                text = "".join(source) if isinstance(source, list) else source
                yield f"{os.path.relpath(path, ROOT)}:cell {index}", text


def test_user_facing_text_has_no_internal_phrases():
    texts = list(user_facing_texts())
    assert any(name.startswith("docs/") for name, _ in texts), "docs/ was not read"
    assert any(".ipynb:cell" in name for name, _ in texts), "no notebook markdown cell was read"
    found = [hit for name, text in texts for hit in find_internal_phrases(text, name)]
    assert not found, "phrases a reader cannot follow:\n" + "\n".join(found)


def test_the_checker_reports_a_bad_phrase():
    text = "Fine line.\nAs the summary says, see ../shared/papers.md (issue #3).\nRun tests/helpers.py.\n"
    found = find_internal_phrases(text, "x.md")
    assert [hit.split(" in: ")[0] for hit in found] == [
        'x.md:2: "papers.md"',
        'x.md:2: "../shared"',
        'x.md:2: "the summary"',
        'x.md:2: "issue #"',
    ]
    assert find_internal_phrases("A Helper found it", "y.md") == ['y.md:1: "helper" in: A Helper found it']
    assert find_internal_phrases("In This Session we ...", "z.md")[0].startswith('z.md:1: "this session"')
    assert [hit.split(" in: ")[0] for hit in find_internal_phrases(
        "widened (issue 8); no GPU was lent to the sessions that ran it", "w.md")] == [
        'w.md:1: "issue N"', 'w.md:1: "working sessions"']  # fmt: skip
    assert find_internal_phrases("the tiny dataset, converted once per session; tf.data service", "v.md") == []


def test_wheel_file_names_in_the_docs_carry_the_current_version():
    names = re.compile(r"keras_samplecnn-(\d[^-\s]*)-py3-none-any\.whl")
    stale = [
        f"{name}: {version}"
        for name, text in user_facing_texts()
        for version in names.findall(text)
        if version != keras_samplecnn.__version__
    ]
    assert not stale, f"wheel names with another version than {keras_samplecnn.__version__}: {stale}"
