"""Stored text made safe for the markup a channel shows it in.

Names, addresses and notes come from residents, volunteers and imported
files. In a message they are data: an address written as
``[点此登记](http://evil.example)`` must not become a live link in a WeCom,
DingTalk or Feishu markdown message, ``<font color="warning">`` must not
colour it, and an e-mail in HTML must not run ``<script>``. Each channel
escapes the text it sends for its own markup with :func:`escape`:

* ``"text"`` (console, log, SMS, plain e-mail): the bidirectional controls
  (``BIDI_CONTROLS`` of the model, such as U+202E, which
  reorders how a line is shown) become ``U+FFFD`` (``�``), so what is
  shown is what is stored. The model refuses them in new text; this covers
  text stored before it did, and text from elsewhere;
* ``"markdown"`` (chat robots): as ``"text"``, and every character with a
  meaning in the markdown dialects of the chat robots (``[ ] < > * _ ` #
  | ~ ! { } \\``) becomes its full-width twin (``［`` for ``[``), which
  reads the same to a person and means nothing to a renderer; a line that
  would start a list, a quote or a heading is led by a zero-width space;
* ``"html"``: as ``"text"``, then HTML-escaped.

In ``"markdown"`` and ``"html"`` a link is broken too, because chat clients
and mail readers turn a bare address into one: ``http://`` becomes
``http：//`` and the dot of a domain name (``evil.example``) becomes
``․`` (one dot leader). Chinese text, numbers (``37.5``) and the
punctuation of the built-in templates are left as they are, so escaping a
whole rendered message is safe: a channel adds its own markup (a bold
subject) *after* escaping.

:class:`~gridguard.notifications.templates.Renderer` takes the same
``markup`` to escape only the values it fills in.
"""

from __future__ import annotations

import html
import re
from typing import Literal

from ..model._validate import BIDI_CONTROLS

__all__ = ["MARKUPS", "Markup", "escape"]

Markup = Literal["text", "markdown", "html"]
MARKUPS: tuple[Markup, ...] = ("text", "markdown", "html")
"""The markups :func:`escape` knows."""

_MARKDOWN = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "|": "｜",
        "~": "～",
        "!": "！",
        "{": "｛",
        "}": "｝",
    }
)
_LINE_MARK = re.compile(
    r"(?m)^(?=[ \t]*(?:[-+](?:[ \t]|$)|[=-]{2,}[ \t]*$|\d{1,9}[.)](?:[ \t]|$)))"
)
"""A line that markdown could read as a list item, a heading underline or a numbered item."""
_SCHEME = re.compile(r"(?i)(?<=[a-z0-9])://")
_DOMAIN_DOT = re.compile(r"(?<=[A-Za-z0-9-])\.(?=[A-Za-z]{2})")
_WWW = re.compile(r"(?i)\bwww\.")


def _plain(text: str) -> str:
    return BIDI_CONTROLS.sub("\ufffd", text)


def _unlinked(text: str) -> str:
    text = _SCHEME.sub("：//", text)
    text = _WWW.sub(lambda m: m.group()[:-1] + "․", text)
    return _DOMAIN_DOT.sub("․", text)


def escape(text: str, markup: Markup = "text") -> str:
    """``text`` as it can be shown in ``markup`` without becoming markup or a link.

    ``markup`` is ``"text"``, ``"markdown"`` or ``"html"`` (see the module);
    anything else is a :class:`ValueError`.
    """
    if markup == "text":
        return _plain(text)
    if markup == "markdown":
        return _LINE_MARK.sub("\u200b", _unlinked(_plain(text).translate(_MARKDOWN)))
    if markup == "html":
        return html.escape(_unlinked(_plain(text)), quote=True)
    raise ValueError(f"unknown markup {markup!r} (known: {', '.join(MARKUPS)})")
