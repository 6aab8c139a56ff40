"""Dataset statistics, and the paper's diversity measure.

Diversity is what transcendence needs: a low-temperature model can only out-vote an expert's
mistakes if the experts do not all make the same move. The paper measures it on common opening
states: for every position reached after ``0, 1, ..., max_ply`` plies (so the first
``max_ply + 1`` moves of each game are counted) that the dataset visits more than
``min_count`` times, the entropy of the empirical next-move distribution divided by
``log |support|`` (1 = all observed moves equally frequent, near 0 = one move dominates); the
dataset's diversity is the mean over those states. Positions are keyed by FEN without the move
counters (placement, side to move, castling, legal en-passant square), so transpositions merge.
A state whose observed support is a single move has normalized entropy 0 (no choice was ever
made there; ``0/log 1`` is undefined, and 0 is its limit for a distribution concentrating on one
move). The paper uses ``max_ply=16, min_count=100``; small datasets need a smaller ``min_count``.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from typing import Any, Iterable

import chess

from ..players import Expert
from .records import GameRecord


def normalized_entropy(counts: Iterable[int]) -> float:
    """H(p) / log|support| of the empirical distribution ``counts``; 0 when the support is one.

    Used in chapter 2.
    """
    c = [x for x in counts if x > 0]
    if len(c) <= 1:
        return 0.0
    n = sum(c)
    h = -sum(x / n * math.log(x / n) for x in c)
    return h / math.log(len(c))


def state_move_counts(games: Iterable[GameRecord], max_ply: int = 16) -> dict[str, Counter]:
    """``{state: Counter(next UCI move)}`` over the positions after 0..max_ply plies."""
    table: dict[str, Counter] = defaultdict(Counter)
    for g in games:
        board = chess.Board()
        for t, uci in enumerate(g.uci_moves[:max_ply + 1]):
            table[board.epd()][uci] += 1
            board.push_uci(uci)
    return table


def diversity(games: Iterable[GameRecord], max_ply: int = 16, min_count: int = 100,
              return_states: bool = False) -> dict[str, Any]:
    """The paper's diversity: mean normalized next-move entropy over states seen > min_count times.

    Returns ``{"diversity", "n_states", "max_ply", "min_count"}`` (diversity is NaN when no state is
    common enough), plus ``"states"`` — ``[(fen, visits, support, normalized entropy)]`` sorted by
    visits — with ``return_states``.

    Used in chapters 2, 7.
    """
    table = state_move_counts(games, max_ply)
    rows = []
    for fen, moves in table.items():
        visits = sum(moves.values())
        if visits > min_count:
            rows.append((fen, visits, len(moves), normalized_entropy(moves.values())))
    rows.sort(key=lambda r: (-r[1], r[0]))
    out: dict[str, Any] = {
        "diversity": statistics.fmean(r[3] for r in rows) if rows else float("nan"),
        "n_states": len(rows), "max_ply": max_ply, "min_count": min_count}
    if return_states:
        out["states"] = rows
    return out


def dataset_stats(games: Iterable[GameRecord], bin_width: int = 10) -> dict[str, Any]:
    """Size, length distribution, result mix, terminations and per-player scores of a dataset.

    ``players`` (games and mean score per player name) is filled only when there are at most 50
    names — expert datasets; a Lichess dataset has thousands of players and gets ``{}``.
    The histogram's bins are ``[edges[i], edges[i+1])`` plies. Used in chapter 2."""
    lengths: list[int] = []
    results: Counter = Counter()
    terminations: Counter = Counter()
    played: Counter = Counter()
    points: Counter = Counter()
    for g in games:
        lengths.append(g.n_plies)
        results[g.result] += 1
        terminations[g.termination] += 1
        w = {"1-0": 1.0, "0-1": 0.0}.get(g.result, 0.5)
        played[g.white] += 1
        played[g.black] += 1
        points[g.white] += w
        points[g.black] += 1.0 - w
    n = len(lengths)
    if n == 0:
        raise ValueError("dataset_stats: the dataset holds no games")
    top = max(lengths)
    edges = list(range(0, top + bin_width + 1, bin_width))
    hist = [0] * (len(edges) - 1)
    for x in lengths:
        hist[x // bin_width] += 1
    return {
        "n_games": n,
        "n_plies": sum(lengths),
        "mean_length": sum(lengths) / n,
        "median_length": statistics.median(lengths),
        "min_length": min(lengths),
        "max_length": top,
        "results": {"white": results["1-0"] / n, "black": results["0-1"] / n,
                    "draw": results["1/2-1/2"] / n},
        "result_counts": dict(results),
        "terminations": dict(terminations.most_common()),
        "length_histogram": {"bin_width": bin_width, "edges": edges, "counts": hist},
        "players": {p: {"games": played[p], "score": points[p] / played[p]}
                    for p in sorted(played) if len(played) <= 50},
    }


def length_histogram_figure(stats_or_games: dict[str, Any] | Iterable[GameRecord],
                            title: str = "Game length (plies)"):
    """A plotly bar chart of :func:`dataset_stats`'s length histogram (pass the stats or games)."""
    import plotly.graph_objects as go

    stats = stats_or_games if isinstance(stats_or_games, dict) else dataset_stats(stats_or_games)
    h = stats["length_histogram"]
    centers = [e + h["bin_width"] / 2 for e in h["edges"][:-1]]
    fig = go.Figure(go.Bar(x=centers, y=h["counts"], width=h["bin_width"] * 0.95,
                           hovertemplate="%{x} plies: %{y} games<extra></extra>"))
    fig.update_layout(title=f"{title} — {stats['n_games']} games, mean {stats['mean_length']:.1f}",
                      xaxis_title="plies", yaxis_title="games", bargap=0.05)
    return fig


def expert_disagreement(experts: Iterable[Any], states: Iterable[str],
                        engine_path: str | None = None) -> dict[str, Any]:
    """How often the experts' *noise-free* moves differ, on the given states (EPD strings).

    The entropy of :func:`diversity` mixes two kinds of diversity: random errors (``eps``),
    which every panel of noisy experts has, and disagreement between the experts' own moves
    (their habits, blind spots), which is what a majority vote needs. This measures the second
    alone: each expert (an :class:`~minitranscend.players.ExpertConfig`) plays its most likely
    move without the random error (:meth:`~minitranscend.players.Expert.own_move`). Returns ``{"n_states", "disagree"`` (share
    of states where not all experts choose the same move), ``"mean_distinct"`` (distinct moves
    per state), ``"moves"`` (per state, the moves in UCI in expert order)``}``.

    Used in chapter 2.
    """
    boards = [chess.Board.from_epd(s)[0] for s in states]
    per_expert: list[list[str]] = []
    for config in experts:
        with Expert(config, engine_path=engine_path) as expert:
            expert.new_game(0)
            per_expert.append([expert.own_move(b).uci() for b in boards])
    if not per_expert or not boards:
        raise ValueError("expert_disagreement needs at least one expert and one state")
    moves = [list(col) for col in zip(*per_expert)]
    distinct = [len(set(m)) for m in moves]
    return {"n_states": len(boards), "disagree": sum(d > 1 for d in distinct) / len(boards),
            "mean_distinct": statistics.fmean(distinct), "moves": moves}


def expert_mixture(experts: Iterable[Any], board: chess.Board,
                   engine_path: str | None = None) -> dict[chess.Move, float]:
    """The average of the experts' exact move distributions in ``board``: what a model trained on
    equal shares of their games learns there, and whose argmax is the experts' majority vote.

    ``experts`` are :class:`~minitranscend.players.ExpertConfig`; each contributes its exact
    distribution (:meth:`~minitranscend.players.Expert.distribution`: slips spread over the legal
    moves, the rest on its habit move and its engine move).
    """
    configs = list(experts)
    if not configs:
        raise ValueError("expert_mixture needs at least one expert")
    total: dict[chess.Move, float] = {}
    for config in configs:
        with Expert(config, engine_path=engine_path) as expert:
            expert.new_game(0)
            for move, p in expert.distribution(board).items():
                total[move] = total.get(move, 0.0) + p / len(configs)
    return total
