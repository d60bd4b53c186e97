"""Dataset helpers, including the embedded demo dataset."""
