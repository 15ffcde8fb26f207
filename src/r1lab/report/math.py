"""Math in r1lab's HTML pages: the vendored KaTeX and r1lab's lazy renderer, inlined once per page.

Problems, gold answers and reasoning traces are mostly LaTeX, which nobody reads as source. Pages
stay self-contained (they are opened from disk and mailed around), so the renderer travels inside
each page: KaTeX 0.19.1 (``vendor/katex``, MIT) called with ``output: "mathml"`` needs no fonts or
CSS, since Chromium, Firefox and Safari draw MathML natively. It adds ``KATEX_BYTES`` (~273 kB,
~77 kB gzipped) to a page, once. ``math.js`` splits text into text and formulas in linear time,
draws a formula only when it nears the viewport, keeps text that is not valid LaTeX as text, and
never reads "$5 and $10" as math (see its header).

Pages mark what to typeset with ``class="r1tex"`` (the element's text is split and drawn; an
optional ``data-mark="start,end"`` highlights the answer the grader read). The trace viewer calls
``R1Math.fill`` itself as it builds each sample.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["KATEX_VERSION", "math_head", "math_script", "typeset_script"]

KATEX_VERSION = "0.19.1"


def _read(name: str) -> str:
    return (resources.files("r1lab.report") / name).read_text(encoding="utf-8")


def math_css() -> str:
    """The formula spans' style (source/rendered switch, display blocks, the answer mark)."""
    return _read("math.css")


def math_script() -> str:
    """KaTeX and ``R1Math`` as one script body (no ``</script>`` inside: both are checked)."""
    script = _read("vendor/katex/katex.min.js") + "\n;\n" + _read("math.js")
    if "</script" in script.lower():  # an updated vendored file must not close the element early
        raise ValueError("the math script contains '</script': it cannot be inlined")
    return script


#: Typesets ``.r1tex`` elements on load and adds the "show LaTeX source" switch (static reports).
_BOOT = """
(() => {
  const start = () => {
    R1Math.typeset(document, '.r1tex');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = 'tex-source';
    box.addEventListener('change', () => R1Math.toggle(box.checked));
    const label = document.createElement('label');
    label.className = 'tex-toggle';
    label.append(box, ' show LaTeX source');
    const h1 = document.querySelector('h1');
    if (h1) h1.after(label); else document.body.prepend(label);
    document.body.dataset.math = '1';
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
"""


def typeset_script() -> str:
    """The whole ``<script>`` element a static report ends with to draw its ``.r1tex`` elements."""
    return f"<script>\n{math_script()}\n{_BOOT}</script>"


def math_head() -> str:
    """The ``<style>`` element for a page that typesets math."""
    return f"<style>\n{math_css()}</style>"
