"""The ``gridguard`` command: one private module per command group.

:func:`main` is the console entry point. Command groups load on first use
(``_app.COMMANDS``), and plugins add their own through the
``register_commands`` hook, so ``gridguard --help`` stays quick.
"""

from ._app import main

__all__ = ["main"]
