"""The ``hwtrial`` command line: every command wraps a plain, importable function.

Standalone: ``hwtrial <command>`` (:mod:`.standalone`: the user's CLI over
:func:`hwtrial.create_app`). Mounted in a host app: ``flask hwtrial <command>``
(:data:`hwtrial_group`, added to ``app.cli`` by the extension). One module per command
group; :mod:`.common` holds the shared helpers and imports none of them.
"""

from .group import hwtrial_group
from .standalone import cli, main

__all__ = ["cli", "hwtrial_group", "main"]
