"""A griffe extension for the docs site: Sphinx roles in docstrings rendered as code.

instsim's numpydoc docstrings name objects with Sphinx roles (``:class:`Extractor```,
``:meth:`~instsim.Extractor.embed```), which Markdown would show literally. This turns
each into inline code of the name a reader sees (``~`` keeps the last component).
Used by mkdocs.yml (mkdocstrings' python handler, ``extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _replace(m: re.Match[str]) -> str:
    target = m.group(2).strip()
    return f"`{target.rsplit('.', 1)[-1] if m.group(1) else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx cross-reference roles in every loaded docstring as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_replace, obj.docstring.value)
