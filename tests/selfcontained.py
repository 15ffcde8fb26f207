"""One check for 'this HTML page is self-contained' shared by the report and viewer tests."""

from __future__ import annotations

import re

#: What would make a browser fetch something: a network src/href, a CSS url(), an @import, a fetch().
NETWORK_LOADS = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|fetch\(\s*["'](?:https?:)?//"""
)
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)


def network_loads(page: str) -> list[str]:
    """Every place in ``page`` that would load from the network (XML namespace names are not loads)."""
    return NETWORK_LOADS.findall(page)


def without_scripts(page: str) -> str:
    """The page's markup without its inline scripts (the vendored KaTeX holds HTML-like strings)."""
    return SCRIPT.sub("", page)
