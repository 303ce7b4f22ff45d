"""Sphinx configuration for the gridguard documentation (MyST markdown, furo theme)."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docutils.nodes import Element
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

project = "gridguard"
author = "The gridguard developers"
copyright = "the gridguard developers"
try:
    release = metadata.version("gridguard")
except metadata.PackageNotFoundError:
    release = "0+unknown"
version = ".".join(release.split(".")[:2])

# Docstrings are reStructuredText prose, not Google or NumPy style. Napoleon
# is left out on purpose: it reads an attribute docstring such as "Where the
# line sorts in reports: ..." as a type annotation followed by a description.
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"undoc-members": True, "show-inheritance": True}

# No intersphinx: the build runs without network. References into other
# projects' documentation (the standard library, attrs, pluggy...) cannot be
# resolved, so nitpicky mode ignores them; references into gridguard must resolve.
nitpicky = True
_EXTERNAL = (
    r"(typing|collections|contextlib|datetime|dt|enum|uuid|zoneinfo|pathlib|os|io|json|random|string"
    r"|types|abc|sqlite3|threading|importlib|attr|attrs|cattrs|pluggy|pytest|_pytest"
    r"|click|rich|phonenumbers|stdnum|hypothesis)(\..*)?"
)
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    (r"py:class", r"(str|int|float|bool|bytes|object|type|dict|list|tuple|set|frozenset)"),
    (r"py:class", r"(None|NoneType|Any|Callable|Iterator|Iterable|Mapping|Sequence|Collection)"),
    (r"py:class", r"(Exception|ValueError|LookupError|PermissionError|ExceptionGroup)"),
    (r"py:class", r"(AbstractContextManager|Path|Protocol|Generic|TypeVar|ClassVar|TextIO)"),
    # Type variables and private aliases in signatures.
    (r"py:(class|obj)", r"(.*\.)?(T|F|_T)"),
    (r"py:class", r"(.*\.)?Progress"),
]


def _short_error_names() -> dict[str, str]:
    """``ValidationError`` -> ``gridguard.errors.ValidationError``, for every public error."""
    import gridguard.errors

    return {name: f"gridguard.errors.{name}" for name in gridguard.errors.__all__}


def _resolve_short_error_names(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element
) -> Element | None:
    """Let docstrings anywhere in gridguard write :class:`ValidationError` unqualified."""
    if node.get("refdomain") != "py":
        return None
    target = _SHORT_ERRORS.get(node.get("reftarget", ""))
    if target is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
    )


_SHORT_ERRORS = _short_error_names()


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", _resolve_short_error_names)


html_theme = "furo"
html_title = "gridguard"
html_static_path: list[str] = []
