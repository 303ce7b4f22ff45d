"""The ``gridguard`` command: one private module per command group.

:func:`main` is the console entry point. Command groups load on first use
(``_app.COMMANDS``), and plugins add their own through the
``register_commands`` hook, so ``gridguard --help`` stays quick.

Every command takes ``--lang zh-CN|en`` (a plugin's too: it is added to each
command of the tree); :func:`say` picks a label's words in the language of
the run, :func:`current_lang` tells which it is.
"""

from ._app import main
from ._common import current_lang, say

__all__ = ["current_lang", "main", "say"]
