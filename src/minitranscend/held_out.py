"""The held-out states of a dataset: positions from games no model was trained on.

One recipe for every measurement on unseen positions (the experiment's rewards and habits,
chapter 4's imitation statistics, chapter 5's entropy curve, chapter 6's rewards), so they all
read the same kind of sample:

* the games are the validation games of :func:`minitranscend.train.is_val_game` (the split the
  training run used, decided by game id);
* the states are spread over *all* of those games, the same number of random plies from each
  (as few as covers ``n``), then shuffled: a sample from a handful of games would measure those
  games, not the dataset;
* each state keeps its game's id, because the states of one game are correlated: an interval
  over states must resample whole games, e.g. ``bootstrap_ci(values, groups=[s.game for s in
  states])`` of :mod:`minitranscend.evaluation.reward`.
"""
from __future__ import annotations

import math
import os
import random
from typing import Any, NamedTuple

import chess

from .data import iter_games
from .train import game_split, is_val_game


class HeldOutState(NamedTuple):
    """A position of a held-out game (``board`` keeps its move history) and the move the
    game's expert played there."""

    game: Any
    board: chess.Board
    move: chess.Move


def held_out_states(data_dir: str | os.PathLike, n: int, val_fraction: float = 0.05,
                    min_ply: int = 4, seed: int = 0, part: str = "all") -> list[HeldOutState]:
    """``n`` states of the held-out games in ``data_dir`` (see the module's docstring):
    ``ceil(1.2 n / #games)`` random plies from ply ``min_ply`` on of every held-out game, finished
    positions left out, shuffled with ``seed``. Raises if the held-out games hold fewer than ``n``.
    ``part``: ``"all"`` held-out games, or only their ``"val"`` or ``"test"`` half
    (:func:`~minitranscend.train.game_split`): the experiment chooses its temperature on
    validation states and reports on test states, which share no game.

    Used in chapters 4, 5, 6 and 7.
    """
    if part not in ("all", "val", "test"):
        raise ValueError(f"part must be 'all', 'val' or 'test', got {part!r}")
    games = [g for g in iter_games(data_dir) if is_val_game(g.id, val_fraction)
             and (part == "all" or game_split(g.id, val_fraction) == part)]
    per_game = max(1, math.ceil(1.2 * n / max(1, len(games))))
    rng = random.Random(seed)
    states = []
    for game in games:
        moves = game.moves
        plies = list(range(min_ply, game.n_plies))
        for ply in sorted(rng.sample(plies, min(per_game, len(plies)))):
            board = game.board_after(ply)
            if not board.is_game_over():
                states.append(HeldOutState(game.id, board, moves[ply]))
    if len(states) < n:
        raise ValueError(f"only {len(states)} held-out states in {data_dir}, {n} wanted: "
                         "generate more games or ask for fewer")
    rng.shuffle(states)
    return states[:n]
