"""The referee: one game loop and one PGN writer for every game the package plays.

Expert self-play (:mod:`minitranscend.data.generate`), matches and ladders
(:mod:`minitranscend.evaluation.match`) and the chapters all play through :func:`play_game`, so
a rule is written once and every route states which rules it plays by (:class:`GameRules`):

* the rules of chess decide first: checkmate wins; stalemate, insufficient material, the 75-move
  rule and fivefold repetition are draws (**stalemate is a draw**: the paper scored it as a loss);
* threefold repetition and the fifty-move rule, the draws a player must *claim*, are applied in
  one of two ways (``GameRules.draw_claims``):

  - ``"claimed"`` (matches): the player to move claims as soon as the rules allow, including when
    the move about to be played would repeat the position (FIDE; python-chess's
    ``outcome(claim_draw=True)``);
  - ``"automatic"`` (datasets): the game is drawn the moment a position occurs for the third time
    or fifty moves pass without a capture or pawn move, as Lichess and most servers do. This needs
    no legal-move search per ply and ends games one move later than ``"claimed"`` can.

* a game that reaches ``max_plies`` (opening plies included) is a draw, ``"ply cap"``, unless an
  ``adjudicator`` judges the final position decided (``"ply cap, adjudicated"``);
* a player that returns an illegal move loses (``"illegal move"``), and so does a model that
  raises ``minitranscend.policy.ModelForfeit`` (the paper's failed resamples).

The termination *names* are part of each route's on-disk format (dataset records say
``"fifty moves"``, match records ``"fifty-move rule"``), kept as they are so that regenerated
datasets and replayed matches are byte-identical to the published ones.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import chess
import chess.pgn

from .players import Player

DEFAULT_MAX_PLIES = 250  # the experts' own games are capped at 250 plies (pilot); the paper used 180

# Termination names, per on-disk format (see the module docstring).
MATCH_NAMES = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient material",
    chess.Termination.SEVENTYFIVE_MOVES: "75-move rule",
    chess.Termination.FIVEFOLD_REPETITION: "fivefold repetition",
    chess.Termination.FIFTY_MOVES: "fifty-move rule",
    chess.Termination.THREEFOLD_REPETITION: "threefold repetition",
}
DATASET_NAMES = {t: t.name.lower().replace("_", " ") for t in chess.Termination}
TERMINATION_NAMES = {"match": MATCH_NAMES, "dataset": DATASET_NAMES}

Adjudicator = Callable[[chess.Board], "str | None"]


@dataclass(frozen=True)
class GameRules:
    """How a game ends: the ply cap, how claimable draws are applied, who judges the ply cap.

    ``draw_claims``: ``"claimed"`` or ``"automatic"`` (module docstring). ``adjudicator``: called on
    the final position of a game stopped by the ply cap; returns ``"1-0"``/``"0-1"`` for a decided
    position, None for a draw (e.g. :func:`~minitranscend.evaluation.match.engine_adjudicator`).
    ``names``: which termination names the records use (``"match"`` or ``"dataset"``).
    """

    max_plies: int = DEFAULT_MAX_PLIES
    draw_claims: str = "claimed"
    adjudicator: Adjudicator | None = None
    names: str = "match"

    def __post_init__(self) -> None:
        if self.draw_claims not in ("claimed", "automatic"):
            raise ValueError(f"draw_claims must be 'claimed' or 'automatic', got {self.draw_claims!r}")
        if self.names not in TERMINATION_NAMES:
            raise ValueError(f"names must be one of {sorted(TERMINATION_NAMES)}, got {self.names!r}")
        if self.max_plies < 1:
            raise ValueError(f"max_plies must be >= 1, got {self.max_plies}")


MATCH_RULES = GameRules()


def selfplay_rules(max_plies: int = DEFAULT_MAX_PLIES) -> GameRules:
    """The rules of the experts' datasets: automatic draws, dataset names, ply cap a draw."""
    return GameRules(max_plies=max_plies, draw_claims="automatic", names="dataset")


def game_result(board: chess.Board, rules: GameRules = MATCH_RULES) -> tuple[str, str] | None:
    """``(result, termination)`` if the game is over by the rules in this position, else None
    (the ply cap is :func:`play_game`'s business). Used in chapter 6."""
    names = TERMINATION_NAMES[rules.names]
    if rules.draw_claims == "claimed":
        outcome = board.outcome(claim_draw=True)
        if outcome is None:
            return None
        return outcome.result(), names.get(outcome.termination, outcome.termination.name.lower())
    outcome = board.outcome(claim_draw=False)
    if outcome is not None:
        return outcome.result(), names[outcome.termination]
    if board.is_repetition(3):
        return "1/2-1/2", names[chess.Termination.THREEFOLD_REPETITION]
    if board.halfmove_clock >= 100:
        return "1/2-1/2", names[chess.Termination.FIFTY_MOVES]
    return None


@dataclass
class GameResult:
    """One finished game. ``moves`` include the opening plies (UCI, from ``start_fen``)."""

    index: int
    white: str
    black: str
    result: str  # "1-0", "0-1", "1/2-1/2"
    termination: str
    plies: int
    moves: list[str]
    opening: list[str]
    seed: int
    start_fen: str = chess.STARTING_FEN
    opening_name: str | None = None
    pgn: str = ""

    def score_for(self, color: chess.Color) -> float:
        white = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}[self.result]
        return white if color == chess.WHITE else 1.0 - white


HeaderFn = Callable[[GameResult, Player, Player, GameRules], dict[str, str]]


def play_game(white: Player, black: Player, rules: GameRules = MATCH_RULES, seed: int = 0,
              opening: Sequence[str] = (), start_fen: str = chess.STARTING_FEN, index: int = 0,
              opening_name: str | None = None, headers: dict[str, str] | None = None,
              seeds: tuple[int, int] | None = None, pgn_headers: HeaderFn | None = None,
              max_plies: int | None = None, adjudicator: Adjudicator | None = None) -> GameResult:
    """Play one game by ``rules``; ``opening`` (UCI moves) is played first, for both sides.

    Both players are reset with ``new_game`` (by default white with ``2*seed``, black with
    ``2*seed+1``; ``seeds`` overrides; a player who plays itself is reset once), so the game is
    a pure function of its inputs for players that are deterministic given a seed. The game's PGN
    (:func:`pgn_text`) carries :func:`match_headers` plus ``headers``, or what ``pgn_headers``
    returns. ``max_plies``/``adjudicator``: shortcuts that replace those fields of ``rules``.
    Used in chapter 5.
    """
    if max_plies is not None or adjudicator is not None:
        rules = GameRules(max_plies if max_plies is not None else rules.max_plies, rules.draw_claims,
                          adjudicator if adjudicator is not None else rules.adjudicator, rules.names)
    board = chess.Board(start_fen)
    for u in opening:
        m = chess.Move.from_uci(u)
        if m not in board.legal_moves:
            raise ValueError(f"opening move {u} is illegal in {board.fen()}")
        board.push(m)
    w_seed, b_seed = seeds if seeds is not None else (2 * seed, 2 * seed + 1)
    white.new_game(w_seed)
    if black is not white:
        black.new_game(b_seed)
    res = game_result(board, rules)
    while res is None:
        if len(board.move_stack) >= rules.max_plies:
            verdict = rules.adjudicator(board) if rules.adjudicator is not None else None
            res = (verdict, "ply cap, adjudicated") if verdict else ("1/2-1/2", "ply cap")
            break
        player = white if board.turn == chess.WHITE else black
        try:
            move = player.choose(board)
        except Exception as e:
            if not _is_forfeit(e):
                raise
            res = ("0-1" if board.turn == chess.WHITE else "1-0", "forfeit (no legal move)")
            break
        if move not in board.legal_moves:
            res = ("0-1" if board.turn == chess.WHITE else "1-0", "illegal move")
            break
        board.push(move)
        res = game_result(board, rules)
    result, termination = res
    moves = [m.uci() for m in board.move_stack]
    g = GameResult(index=index, white=white.name, black=black.name, result=result,
                   termination=termination, plies=len(moves), moves=moves, opening=list(opening),
                   seed=seed, start_fen=start_fen, opening_name=opening_name)
    h = pgn_headers(g, white, black, rules) if pgn_headers is not None else \
        match_headers(g, white.describe(), black.describe(), rules.max_plies, headers)
    g.pgn = pgn_text(g.moves, h, g.start_fen)
    return g


def _is_forfeit(e: Exception) -> bool:
    """A model that fails to produce a legal move (the paper's 5 resamples) loses the game.
    Looked up in ``sys.modules``: the referee must not import torch for games without models."""
    policy = sys.modules.get("minitranscend.policy")
    return policy is not None and isinstance(e, getattr(policy, "ModelForfeit", ()))


def match_headers(g: GameResult, white_desc: dict, black_desc: dict, max_plies: int | None = None,
                  extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every header needed to trace and replay a game: both players' settings, seed, opening."""
    h = {"Event": (extra or {}).get("Event", "minitranscend match"), "Site": "minitranscend",
         "Date": _dt.date.today().strftime("%Y.%m.%d"), "Round": str(g.index + 1),
         "White": g.white, "Black": g.black, "Result": g.result, "Termination": g.termination,
         "PlyCount": str(g.plies), "GameIndex": str(g.index), "Seed": str(g.seed),
         "Opening": g.opening_name or ("random plies" if g.opening else "none"),
         "OpeningMoves": " ".join(g.opening)}
    if max_plies is not None:
        h["MaxPlies"] = str(max_plies)
    h["WhiteSettings"] = json.dumps(white_desc, sort_keys=True, default=str)
    h["BlackSettings"] = json.dumps(black_desc, sort_keys=True, default=str)
    for k, v in (extra or {}).items():
        h[k] = str(v)
    return h


def pgn_text(moves: Sequence[str], headers: dict[str, Any],
             start_fen: str = chess.STARTING_FEN) -> str:
    """The one PGN writer: the game of ``moves`` (UCI) from ``start_fen`` with ``headers`` (in
    their order after PGN's seven-tag roster)."""
    game = chess.pgn.Game()
    if start_fen != chess.STARTING_FEN:
        game.setup(chess.Board(start_fen))
    node = game
    for u in moves:
        node = node.add_variation(chess.Move.from_uci(u))
    for k, v in headers.items():
        game.headers[k] = str(v)
    return str(game)


def pgn_games(text: str) -> list[chess.pgn.Game]:
    """Parse every game of a PGN string (for tests and notebooks)."""
    f = io.StringIO(text)
    out = []
    while (g := chess.pgn.read_game(f)) is not None:
        out.append(g)
    return out
