"""The game viewer: navigation state, slider range, and the static fallback.

Runs against whichever ipywidgets is importable: 8 here, and 7 (Colab's) when
``tests/test_widgets_ipywidgets7.py`` reruns this file with ``.cache/ipywidgets7`` first on
``PYTHONPATH``.
"""
import io
import os
from pathlib import Path

import chess
import chess.pgn
import ipywidgets
import pytest
from IPython.core.formatters import DisplayFormatter

from minitranscend.widgets import WIDGET_VIEW_MIME, GameViewer, parse_game, show_game

SCHOLAR = ["e4", "e5", "Qh5", "Nc6", "Bc4", "Nf6", "Qxf7#"]
# Where test_ipywidgets_version writes the version it ran against (set by the ipywidgets 7 run).
VERSION_REPORT = "MINITRANSCEND_IPYWIDGETS_REPORT"

pytestmark = [
    # traitlets only warns about keywords a widget does not know and then ignores them, so an
    # option of one ipywidgets version used under the other (IntSlider(behavior=...) under 7)
    # would silently vanish: make it fail.
    pytest.mark.filterwarnings("error:Passing unrecognized arguments:DeprecationWarning"),
    # ipywidgets 7 opens its comms through ipykernel's old Comm class; not ours to fix.
    pytest.mark.filterwarnings(
        "ignore:The `ipykernel.comm.Comm` class has been deprecated:DeprecationWarning"),
]


def test_ipywidgets_version():
    """Record the ipywidgets these tests ran against, so the ipywidgets 7 run can prove it."""
    major = int(ipywidgets.__version__.split(".")[0])
    assert major in (7, 8), ipywidgets.__version__
    report = os.environ.get(VERSION_REPORT)
    if report:
        Path(report).write_text(f"{ipywidgets.__version__}\n{ipywidgets.__file__}\n")


def test_buttons_move_through_the_game():
    v = GameViewer(SCHOLAR, ply=0)
    w = v.widget
    assert v._slider.min == 0 and v._slider.max == len(SCHOLAR) == v.n_plies
    v.next()
    v.next()
    assert v.ply == 2 and v._slider.value == 2
    assert v.board_at().fen() == chess.Board(
        "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq e6 0 2").fen()
    v.prev()
    assert v.ply == 1
    v.last()
    assert v.ply == 7 and v.board_at().is_checkmate()
    v.next()  # past the end stays at the end
    assert v.ply == 7
    v.first()
    v.prev()
    assert v.ply == 0 and v.board_at() == chess.Board()
    # the slider drives the board too
    v._slider.value = 4
    assert v.ply == 4 and "Nc6" in v._caption.value
    assert '<span style="' in v._moves.value and ">Nc6</span>" in v._moves.value
    assert w.children[1].value.startswith("<svg")


def test_buttons_are_wired_to_the_handlers():
    v = GameViewer(SCHOLAR, ply=3)
    buttons = v.widget.children[2].children[:4]
    buttons[2].click()
    assert v.ply == 4
    buttons[0].click()
    assert v.ply == 0
    buttons[3].click()
    assert v.ply == 7
    buttons[1].click()
    assert v.ply == 6


def test_static_html_has_board_and_san_moves():
    v = GameViewer(SCHOLAR, ply=7)
    page = v.static_html()
    assert page.count("<svg") == 1
    assert "1. e4 e5 2. Qh5 Nc6 3. Bc4 Nf6 4." in page
    assert ">Qxf7#</span>" in page and "1-0" in page
    assert 'class="check"' in page  # the mated king is marked
    bundle = v._repr_mimebundle_()
    assert bundle[WIDGET_VIEW_MIME]["model_id"] == v.widget.model_id
    assert "<svg" in bundle["text/html"] and bundle["text/plain"]


def test_display_through_ipython_gives_widget_and_static_board(capsys):
    """The path a notebook takes: IPython's formatter, which prints (not raises) a failure."""
    v = GameViewer(SCHOLAR, ply=2)
    data, _ = DisplayFormatter().format(v)
    assert "Traceback" not in capsys.readouterr().out
    assert data[WIDGET_VIEW_MIME]["model_id"] == v.widget.model_id
    assert data["text/html"] == v.static_html() and "<svg" in data["text/html"]
    v.widget.close()  # a closed widget has no live view left: the static board only
    data, _ = DisplayFormatter().format(v)
    assert WIDGET_VIEW_MIME not in data and "<svg" in data["text/html"]


def test_inputs_pgn_uci_moves_and_errors():
    pgn = "1. e4 e5 2. Nf3 Nc6 *"
    game = chess.pgn.read_game(io.StringIO(pgn))
    for source in (pgn, game, "e2e4 e7e5 g1f3 b8c6", [chess.Move.from_uci(u) for u in
                                                         ("e2e4", "e7e5", "g1f3", "b8c6")]):
        v = GameViewer(source)
        assert v.sans == ["e4", "e5", "Nf3", "Nc6"] and v.ply == 4
    start = chess.Board("8/8/8/8/8/5k2/8/4K2R b K - 0 40")
    v = GameViewer(["Kg3", "O-O"], board=start)
    assert "40... Kg3 41. O-O" in v.moves_html(ply=0)
    with pytest.raises(ValueError, match="move 2"):
        parse_game(["e4", "e4"])


def test_show_game_outside_a_kernel_displays_the_static_board(capsys):
    show_game(SCHOLAR, ply=2)
    out = capsys.readouterr().out
    assert "IPython.core.display.HTML" in out  # plain python: the static fallback object
