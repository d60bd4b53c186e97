"""YAML reading without aliases: every config, profile and demo file goes through `load`.

`yaml.safe_load` expands aliases (`*name`), so a few hundred bytes of nested aliases (a
"billion laughs" file) grow to gigabytes. A config never needs them, so an alias is refused
before anything is built.
"""

import yaml


class AliasError(yaml.composer.ComposerError):
    """A YAML alias (`*name`) in a file read by `load`."""


class NoAliasLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that raises `AliasError` at the first alias event."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            problem = f"YAML aliases (*{event.anchor}) are not allowed: write the values out"
            raise AliasError(None, None, problem, event.start_mark)
        return super().compose_node(parent, index)


def load(stream):
    """The Python value of a YAML document, as `yaml.safe_load` but refusing aliases.

    Args:
        stream: a string or an open text file.

    Raises:
        yaml.YAMLError: not valid YAML, or it uses an alias (`AliasError`).
    """
    loader = NoAliasLoader(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
