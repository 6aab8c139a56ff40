"""A chess game viewer for notebooks: python-chess SVG boards driven by core ipywidgets.

Only core widgets (HTML, Button, IntSlider, HBox, VBox) and no custom JavaScript, so the
viewer works wherever ipywidgets does: Jupyter, JupyterLab, VS Code and Colab.

The rendered book is static: a widget there cannot call back into Python. So
:func:`show_game` shows the live widget in a kernel that a person drives and, under
``book execute`` (or outside IPython), a static board at the chosen ply with the move list.
The widget's own display bundle also carries that static HTML, so any front end without
widget support (nbviewer, GitHub) shows the board rather than a ``VBox(...)`` line.

Works with ipywidgets 7 (Colab still preinstalls 7.7.1) and 8. The controls used here
(``HTML``, ``Button(tooltip=..., layout=Layout(width=...))`` with ``on_click``/``click``,
``IntSlider(value, min, max, description, continuous_update)``, ``observe``, ``HBox``/``VBox``)
are spelled the same in both; avoid 8-only options such as ``description_allow_html``, a
``tooltip`` on widgets other than ``Button`` (7 calls it ``description_tooltip``) or the
slider's ``behavior``. What differs is how a widget is displayed: 8 widgets have
``_repr_mimebundle_``, 7 widgets only ``_ipython_display_``, which publishes the bundle itself
and so cannot be extended. :meth:`GameViewer._repr_mimebundle_` therefore builds the bundle
for 7 from the widget's view spec, so both versions get the live widget plus the static board.

    from minitranscend.widgets import show_game
    show_game("1. e4 e5 2. Nf3 Nc6 3. Bb5 a6", ply=5)
"""
from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

import chess
import chess.pgn
import chess.svg

CURRENT_STYLE = "background:#ffe08a;border-radius:3px;padding:0 2px;font-weight:bold"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def parse_game(game_or_moves: chess.pgn.Game | str | Sequence[chess.Move | str],
               board: chess.Board | None = None) -> tuple[chess.Board, list[chess.Move]]:
    """(starting board, moves) from a Game, PGN text, or moves as Move/SAN/UCI.

    Raises ValueError naming the first move that is not legal where it is played.
    """
    if isinstance(game_or_moves, chess.pgn.Game):
        return game_or_moves.board(), list(game_or_moves.mainline_moves())
    if isinstance(game_or_moves, str):
        text = game_or_moves.strip()
        if text.startswith("[") or re.match(r"\d+\.", text):
            game = chess.pgn.read_game(io.StringIO(text))
            if game is None:
                raise ValueError("the PGN text holds no game")
            if game.errors:
                raise ValueError(f"cannot read the PGN: {game.errors[0]}")
            return game.board(), list(game.mainline_moves())
        game_or_moves = text.split()
    start = board.copy() if board is not None else chess.Board()
    b = start.copy()
    moves: list[chess.Move] = []
    for i, m in enumerate(game_or_moves):
        if isinstance(m, chess.Move):
            move = m
            if move not in b.legal_moves:
                raise ValueError(f"move {i + 1} ({m.uci()}) is not legal in {b.fen()}")
        else:
            try:
                move = b.parse_san(m)
            except ValueError:
                try:
                    move = b.parse_uci(m)
                except ValueError:
                    raise ValueError(f"move {i + 1} ({m!r}) is neither legal SAN nor UCI in "
                                     f"{b.fen()}") from None
        moves.append(move)
        b.push(move)
    return start, moves


class GameViewer:
    """Step through a game: start/prev/next/end buttons, a ply slider, board and move list.

    ``ply`` counts half-moves played: 0 is the starting position, ``len(moves)`` the end.
    The handlers (:meth:`first`, :meth:`prev`, :meth:`next`, :meth:`last`, :meth:`go`) are
    plain methods, so the viewer can be driven (and tested) without a front end.
    """

    def __init__(self, game_or_moves, ply: int | None = None, size: int = 360,
                 orientation: chess.Color = chess.WHITE, board: chess.Board | None = None,
                 title: str = "") -> None:
        self.start, self.moves = parse_game(game_or_moves, board)
        self.size, self.orientation, self.title = size, orientation, title
        self.sans: list[str] = []
        b = self.start.copy()
        for move in self.moves:
            self.sans.append(b.san(move))
            b.push(move)
        self.ply = self._clip(len(self.moves) if ply is None else ply)
        self._widget = None

    # ---------------------------------------------------------------- state

    @property
    def n_plies(self) -> int:
        return len(self.moves)

    def _clip(self, ply: int) -> int:
        return max(0, min(int(ply), self.n_plies))

    def board_at(self, ply: int | None = None) -> chess.Board:
        b = self.start.copy()
        for move in self.moves[: self._clip(self.ply if ply is None else ply)]:
            b.push(move)
        return b

    def go(self, ply: int) -> None:
        self.ply = self._clip(ply)
        if self._widget is not None:
            self._slider.value = self.ply  # the slider's observer redraws
            self._refresh()

    def first(self, _button=None) -> None:
        self.go(0)

    def prev(self, _button=None) -> None:
        self.go(self.ply - 1)

    def next(self, _button=None) -> None:
        self.go(self.ply + 1)

    def last(self, _button=None) -> None:
        self.go(self.n_plies)

    # ---------------------------------------------------------------- rendering

    def board_svg(self, ply: int | None = None) -> str:
        ply = self.ply if ply is None else self._clip(ply)
        b = self.board_at(ply)
        check = b.king(b.turn) if b.is_check() else None
        last = self.moves[ply - 1] if ply > 0 else None
        return chess.svg.board(b, lastmove=last, check=check, size=self.size,
                               orientation=self.orientation)

    def moves_html(self, ply: int | None = None) -> str:
        """The SAN move list, the move that led to ``ply`` highlighted."""
        ply = self.ply if ply is None else self._clip(ply)
        first_white = self.start.turn == chess.WHITE
        number = self.start.fullmove_number
        parts = []
        for i, san in enumerate(self.sans):
            white = (i % 2 == 0) == first_white
            if white:
                parts.append(f"{number}.")
            elif i == 0:
                parts.append(f"{number}...")
            text = html.escape(san)
            parts.append(f'<span style="{CURRENT_STYLE}">{text}</span>' if i == ply - 1 else text)
            if not white:
                number += 1
        result = self.board_at(self.n_plies).result(claim_draw=False)
        if result != "*":
            parts.append(result)
        return (f'<div style="font-family:monospace;line-height:1.6;max-width:{self.size + 200}px">'
                + " ".join(parts) + "</div>")

    def caption(self, ply: int | None = None) -> str:
        ply = self.ply if ply is None else self._clip(ply)
        where = "start" if ply == 0 else f"after {ply} plies ({self.sans[ply - 1]})"
        head = f"<b>{html.escape(self.title)}</b> — " if self.title else ""
        return f"<div>{head}position {where} of {self.n_plies}</div>"

    def static_html(self, ply: int | None = None) -> str:
        """Board, caption and move list as one self-contained HTML block (no JavaScript)."""
        return ('<div class="minitranscend-game">' + self.caption(ply) +
                f"<div>{self.board_svg(ply)}</div>" + self.moves_html(ply) + "</div>")

    # ---------------------------------------------------------------- widget

    @property
    def widget(self):
        """The ipywidgets view, built on first use.

        ipywidgets is imported here rather than at the top so that the parts that need no
        widget (:func:`parse_game`, :meth:`static_html`, :func:`show_game` in the book build)
        neither pay for the import nor depend on which ipywidgets (7 or 8) is installed.
        """
        if self._widget is None:
            import ipywidgets as w

            self._board = w.HTML()
            self._moves = w.HTML()
            self._caption = w.HTML()
            buttons = []
            for label, tip, handler in (("⏮", "start", self.first), ("◀", "previous move", self.prev),
                                        ("▶", "next move", self.next), ("⏭", "end", self.last)):
                b = w.Button(description=label, tooltip=tip, layout=w.Layout(width="44px"))
                b.on_click(handler)
                buttons.append(b)
            self._slider = w.IntSlider(value=self.ply, min=0, max=self.n_plies, description="ply",
                                       continuous_update=True)
            self._slider.observe(self._on_slider, names="value")
            self._widget = w.VBox([self._caption, self._board, w.HBox([*buttons, self._slider]),
                                   self._moves])
            self._refresh()
        return self._widget

    def _on_slider(self, change) -> None:
        self.ply = self._clip(change["new"])
        self._refresh()

    def _refresh(self) -> None:
        self._board.value = self.board_svg()
        self._moves.value = self.moves_html()
        self._caption.value = self.caption()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, object]:
        """The live widget, plus the static board for front ends that cannot show widgets.

        IPython uses this in both ipywidgets versions (the viewer has no ``_ipython_display_``),
        but the widget itself differs. ipywidgets 8 gives its bundle through
        ``_repr_mimebundle_``; ipywidgets 7 has only ``_ipython_display_``, which publishes
        ``text/plain`` and the widget-view JSON itself and returns nothing, so the same two
        entries are built here from the widget's view spec, and its display callbacks are fired
        as 7 would (a ``Box`` tells its children that they are shown). A closed widget (both
        versions then set the display method to ``None``) has no live view: static board only.
        The methods are looked up rather than the version compared, so a later release that
        keeps either protocol works unchanged.
        """
        widget = self.widget
        own_bundle = getattr(widget, "_repr_mimebundle_", None)  # ipywidgets 8
        if callable(own_bundle):
            bundle = dict(own_bundle(include=include, exclude=exclude) or {})
        elif callable(getattr(widget, "_ipython_display_", None)):  # ipywidgets 7
            plain = repr(widget)
            bundle = {"text/plain": plain[:110] + "…" if len(plain) > 110 else plain,
                      WIDGET_VIEW_MIME: widget.get_view_spec()}
            widget._handle_displayed()
        else:
            bundle = {"text/plain": f"<closed game viewer at ply {self.ply} of {self.n_plies}>"}
        bundle["text/html"] = self.static_html()
        return bundle


def show_game(game_or_moves, ply: int | None = None, size: int = 360, **kwargs) -> None:
    """Display a game: the live viewer in a kernel, the static board in the rendered book.

    Returns nothing, so that a ``show_game(...)`` ending a cell is not displayed twice; build a
    :class:`GameViewer` yourself to keep a handle on it.
    """
    from IPython.display import HTML, display

    from .notebook import interactive

    viewer = GameViewer(game_or_moves, ply=ply, size=size, **kwargs)
    if interactive():
        display(viewer)
    else:
        display(HTML(viewer.static_html()))
