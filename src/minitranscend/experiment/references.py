"""The reference policies of the main experiment, scored on the same states as the models.

A model's reward means little alone. Beside it the experiment scores, on every state:

* ``oracle`` (the best-scored move) and ``random`` (a uniformly random legal move): the scale;
* ``engine``: the experts' shared engine with no error at all;
* every expert of every panel, and each one ``-noslip`` (:func:`~minitranscend.players.without_slips`):
  what removing only the random errors of one expert would reach;
* ``vote-A``, ``vote-B``, ``vote-S``: each panel's *exact majority vote*
  (:func:`~minitranscend.players.exact_vote`), the theory's prediction for a model that learned
  the panel's games perfectly and plays at temperature 0. The recovery ratio of chapter 7 says
  how far a model goes from its best expert towards it.

Every expert of the course is the same engine with different errors, so the engine's move and
each habit piece's move are computed once per state (:class:`PanelMoves`) and every expert's
exact distribution follows from them (:func:`~minitranscend.players.expert_mixture`, the one
home of the error model).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import chess

from ..players import Expert, ExpertConfig, exact_vote, expert_mixture, without_slips
from ..settings import ExperimentConfig

Dist = dict[chess.Move, float]


def vote_name(dataset: str) -> str:
    """``vote-<dataset>``: the label of a panel's exact majority vote in every result file."""
    return f"vote-{dataset}"


def distinct_experts(cfg: ExperimentConfig) -> list[ExpertConfig]:
    """Every expert of every panel once (dataset S's expert is dataset A's expert-rook: one
    name, one config)."""
    seen: dict[str, ExpertConfig] = {}
    for panel in cfg.experts.values():
        for e in panel:
            if e.name in seen and seen[e.name] != e:
                raise ValueError(f"two different experts are both named {e.name!r}")
            seen.setdefault(e.name, e)
    return list(seen.values())


class PanelMoves:
    """The moves every expert's distribution is made of, one engine search each per state: the
    shared engine's move and each habit piece's most forward move (its ties broken by the same
    engine). ``PanelMoves(cfg)`` checks that all experts share one engine setting."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        experts = distinct_experts(cfg)
        limits = {(e.nodes, e.depth, e.movetime, e.skill_level, e.blind_spot) for e in experts}
        if len(limits) != 1:
            raise ValueError("the reference policies assume one engine setting for every expert "
                             f"(nodes, depth, movetime, skill level, blind spot); got {sorted(map(str, limits))}")
        base = experts[0]
        self.engine = Expert(ExpertConfig("engine", nodes=base.nodes, depth=base.depth,
                                          movetime=base.movetime, skill_level=base.skill_level,
                                          blind_spot=base.blind_spot))
        self.habits = {p: Expert(ExpertConfig(f"habit-{p}", nodes=base.nodes, depth=base.depth,
                                              movetime=base.movetime, skill_level=base.skill_level,
                                              habit=p, habit_rate=1.0))
                       for p in sorted({e.habit for e in experts if e.habit})}

    def moves(self, board: chess.Board) -> tuple[chess.Move, dict[str, chess.Move | None]]:
        """``(engine move, {habit piece: its move or None})`` in ``board``: a pure function of the
        position (every search starts from an empty hash)."""
        fen = board.fen()
        self.engine.start_search(("engine", fen))
        engine = self.engine.engine_move(board)
        habits = {}
        for p, h in self.habits.items():
            h.start_search(("habit", p, fen))
            habits[p] = h.habit_move(board)
        return engine, habits

    def close(self) -> None:
        self.engine.close()
        for h in self.habits.values():
            h.close()

    def __enter__(self) -> "PanelMoves":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Moves = tuple[chess.Move, dict[str, chess.Move | None]]


def panel_moves(cfg: ExperimentConfig, boards: Sequence[chess.Board]) -> list[Moves]:
    """:meth:`PanelMoves.moves` of every board: ``(engine move, {habit piece: move or None})``."""
    with PanelMoves(cfg) as panel:
        return [panel.moves(board) for board in boards]


def reference_distributions(cfg: ExperimentConfig, boards: Sequence[chess.Board],
                            moves: Sequence[Moves] | None = None) -> dict[str, list[Dist]]:
    """``{name: [exact distribution per board]}`` for ``engine``, every expert, every expert
    without slips and every panel's vote (see the module's docstring). ``moves``: the boards'
    :func:`panel_moves`, when the caller has them already."""
    experts = distinct_experts(cfg)
    out: dict[str, list[Dist]] = {"engine": []}
    for e in experts:
        out[e.name] = []
        out[without_slips(e).name] = []
    for ds in cfg.experts:
        out[vote_name(ds)] = []
    moves = panel_moves(cfg, boards) if moves is None else moves
    for board, (engine, habit) in zip(boards, moves):
        legal = list(board.legal_moves)
        out["engine"].append({engine: 1.0})
        dist: dict[str, Dist] = {}
        for e in experts:
            dist[e.name] = expert_mixture(e, legal, engine, habit.get(e.habit))
            clean = without_slips(e)
            out[clean.name].append(expert_mixture(clean, legal, engine, habit.get(e.habit)))
            out[e.name].append(dist[e.name])
        for ds, members in cfg.experts.items():
            out[vote_name(ds)].append(exact_vote([dist[e.name] for e in members]))
    return out


def lookup_policies(dists: dict[str, list[Dist]], boards: Sequence[chess.Board],
                    ) -> dict[str, Callable[[chess.Board], Any]]:
    """The precomputed distributions as policies ``board -> distribution`` for
    :func:`~minitranscend.evaluation.reward.evaluate_rewards` (looked up by FEN)."""
    at = board_index(boards)
    return {name: (lambda board, d=d: d[at(board)]) for name, d in dists.items()}


def board_index(boards: Sequence[chess.Board]) -> Callable[[chess.Board], int]:
    """``board -> its position in boards``: by identity for the boards themselves (what
    :func:`~minitranscend.evaluation.reward.evaluate_rewards` passes; no FEN to compute), by
    FEN for any other board of the same position."""
    by_id = {id(b): (b, i) for i, b in enumerate(boards)}
    by_fen: dict[str, int] = {}

    def at(board: chess.Board) -> int:
        hit = by_id.get(id(board))
        if hit is not None and hit[0] is board:
            return hit[1]
        if not by_fen:
            by_fen.update((b.fen(), i) for i, b in enumerate(boards))
        return by_fen[board.fen()]

    return at
