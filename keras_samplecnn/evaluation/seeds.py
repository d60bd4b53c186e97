"""Numbers over seeds, as every table of the package shows them: mean ± sample standard
deviation, with every seed's value kept, in Markdown."""

import numpy as np


def over_seeds(values):
    """`{"values", "mean", "std"}` of one number over seeds (std, with ddof 1, is None for one seed)."""
    values = [float(v) for v in values]
    return {"values": values, "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}  # fmt: skip


def cell(entry, missing="—"):
    """A table cell: `mean ± std` with four decimals, the mean alone for one seed, `missing` for none."""
    if entry is None:
        return missing
    if entry["std"] is None:
        return f"{entry['mean']:.4f}"
    return f"{entry['mean']:.4f} ± {entry['std']:.4f}"


def markdown_table(header, rows):
    """A Markdown table: `header` a list of column names, `rows` lists of cells (strings)."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
