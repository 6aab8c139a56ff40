"""What the chapters import besides the science: glue, plotly set-up, tables, live-kernel checks.

A chapter runs in three places: ``book execute`` (papermill, outputs go to the static site),
a student's Jupyter or Colab kernel, and the tests. None of them may need the book-build tools
(myst-nb, papermill, Sphinx, Jupyter Book): a student's runtime has only this package and its
runtime dependencies. So this module imports IPython and plotly, nothing from the build stack,
and ``book execute`` runs every chapter with those tools made unimportable to prove it
(:mod:`minitranscend.book.runtime`).

    from minitranscend.notebook import glue, interactive, setup_plotly, show_table

Used in every chapter.
"""
from __future__ import annotations

import math
import numbers
import os
from html import escape

import plotly.io as pio
from IPython import get_ipython
from IPython.core.formatters import format_display_data
from IPython.display import HTML, DisplayObject, display

# Set in the kernel's environment by ``book execute``: the output is for the static site.
BOOK_ENV = "MINITRANSCEND_BOOK"
# myst-nb's glue format (myst_nb.ext.glue): a display bundle whose mime types carry this prefix
# and whose metadata names the value. Emitting it ourselves keeps myst-nb out of the kernel;
# tests/test_notebook.py checks the bundle equals the one myst_nb.glue writes.
GLUE_PREFIX = "application/papermill.record/"
BOOK_RENDERER = "minitranscend_book"


def in_book_build() -> bool:
    """True while ``book execute`` runs this kernel: outputs end up in the static site."""
    return os.environ.get(BOOK_ENV, "") not in ("", "0")


def interactive() -> bool:
    """True in a live Jupyter / JupyterLab / VS Code / Colab kernel that a person drives.

    False under ``book execute`` (the site cannot call back into Python, so widgets there
    would be dead controls) and outside IPython. Chapters guard sliders with it::

        if interactive():
            display(widgets.interact(...))
    """
    if in_book_build():
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def format_value(value: object) -> str:
    """A short, readable text for a glued value: ints with separators, floats to 4 digits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


def glue(name: str, value: object, display: bool = True) -> None:
    """Give ``value`` a ``name`` that the chapter's text can quote.

    In the book build the value is stored in myst-nb's glue format, so ``{glue:text}`name```
    in the page's markdown shows it (``display=False`` keeps it out of the cell's output).
    Everywhere else (Jupyter, Colab, tests) it prints ``name = value``: the notebooks that
    the Colab buttons open name the value in the text (``name``) and this line gives it.
    """
    if in_book_build():
        bundle, metadata = format_display_data(value)
        prefix = "" if display else GLUE_PREFIX
        metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
        _display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    else:
        # a Markdown/HTML object glued for the text: show its text, not its repr
        text = (value.data if isinstance(value, DisplayObject) and isinstance(value.data, str)
                else format_value(value))
        if get_ipython() is not None:
            _display({"text/plain": f"{name} = {text}"}, raw=True)
        else:
            print(f"{name} = {text}")


_display = display  # ``glue`` has a parameter called ``display``


def setup_plotly(template: str = "plotly_white") -> str:
    """Pick the plotly renderer that draws both here and in the rendered book; return its name.

    In a live kernel plotly's own detection is right (Colab, VS Code, Jupyter, JupyterLab) and
    is kept. In the book build figures are written as plain ``<div>`` + ``Plotly.newPlot``
    HTML without plotly.js: the site loads one local copy (``_static/plotly.min.js``, put
    there by ``book build``), so pages stay small and figures draw offline.
    """
    pio.templates.default = template
    if in_book_build():
        pio.renderers[BOOK_RENDERER] = _book_renderer()
        pio.renderers.default = BOOK_RENDERER
    return pio.renderers.default


def _book_renderer():
    """A renderer writing ``<div>`` + ``Plotly.newPlot`` only: no plotly.js, no MathJax.

    plotly's notebook renderers add a second MathJax (from a CDN) to every figure, which
    fights the page's own MathJax and breaks the book's equations; the site has one already.
    """
    from plotly.io._base_renderers import MimetypeRenderer  # private module: only when used

    class BookRenderer(MimetypeRenderer):
        def to_mimebundle(self, fig_dict):
            # responsive: the figure follows the page's column when the window is resized
            return {"text/html": pio.to_html(fig_dict, include_plotlyjs=False,
                                             include_mathjax=False,
                                             config={"responsive": True}, full_html=False,
                                             default_width="100%", default_height=525,
                                             validate=False)}

    return BookRenderer()


def table_html(header, rows, caption: str | None = None) -> str:
    """An HTML ``<table>`` of ``rows`` (sequences of cells) under ``header``; cells escaped.

    Tables in chapters are HTML, not plotly ``go.Table`` (fixed-size canvas: truncated
    headers, a title on top of the cells, empty space below) and not a markdown output
    (myst-nb renders markdown *outputs* as CommonMark, which has no tables: the reader sees
    the pipes). HTML looks the same in Jupyter, Colab and the site.
    """
    # inline styles: the same look in every front end, no stylesheet to ship
    pad = "padding:2px 7px;text-align:left;"
    style = {"th": pad + "border-bottom:1px solid #999;",
             "td": pad + "white-space:nowrap;border-bottom:1px solid #e5e5e5;"}

    def row(cells, tag):
        return "<tr>" + "".join(f'<{tag} style="{style[tag]}">{escape(str(c))}</{tag}>'
                                for c in cells) + "</tr>"

    cap = (f'<caption style="caption-side:top;text-align:left;font-weight:bold">'
           f"{escape(caption)}</caption>" if caption else "")
    # a wide table scrolls sideways instead of being cut off by the page's column
    return ('<div style="overflow-x:auto">'
            f'<table style="border-collapse:collapse;margin:0.5em 0;font-size:0.9em">{cap}'
            f"<thead>{row(header, 'th')}</thead><tbody>"
            + "".join(row(r, "td") for r in rows) + "</tbody></table></div>")


def show_table(header, rows, caption: str | None = None) -> None:
    """Display :func:`table_html` in the notebook (and so in the rendered book)."""
    _display(HTML(table_html(header, rows, caption)))
