"""The game viewer: navigation state, slider range, and the static fallback."""
import chess
import chess.pgn
import io
import pytest

from minitranscend.widgets import GameViewer, parse_game, show_game

SCHOLAR = ["e4", "e5", "Qh5", "Nc6", "Bc4", "Nf6", "Qxf7#"]


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
    assert "application/vnd.jupyter.widget-view+json" in bundle and "<svg" in bundle["text/html"]


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
