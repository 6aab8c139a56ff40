"""Per-state reward: how good is a policy's move distribution in a given position?

The paper's reward analysis, made reproducible. For every position, Stockfish scores *every*
legal move (``multipv`` = number of legal moves, one search), and each score is turned into the
mover's Lichess expected score ``win + draw / 2`` (python-chess ``Score.wdl(model="lichess")``,
mate scores included: a mate-in-one is 0.999, being mated next move 0.001). A policy's reward in
state ``s`` is then exact, with no sampling noise::

    r(s) = sum_m p(m | s) * score(s, m)

which is what makes temperature comparisons possible on a few hundred positions.

Scoring is the expensive part, so :func:`analyse_positions` runs on several cores and caches every
scored position on disk (append-only JSONL, one file per engine/limit/settings key). A rerun, or a
second chapter that needs the same positions, costs nothing; an interrupted run keeps everything it
finished. Each position is analysed with a fresh hash (``ucinewgame``) and one thread, so the
scores are a pure function of (position, engine version, limit, settings) — the cache key.

Positions are analysed from their FEN: the engine does not see the game's earlier moves, so a move
that would repeat a position for the third time is scored as the engine sees it, not as a draw.
"""
from __future__ import annotations

import os
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import chess
import chess.engine
import numpy as np
from tqdm.auto import tqdm

from ..engine import Engine, EngineSettings, SearchLimit, find_stockfish, stockfish_version
from ..store import append_jsonl, atomic_write_csv, atomic_write_json, read_jsonl, settings_hash
from ..workers import worker_pool, worker_state

# depth 8 with multipv = all legal moves (the pilot's setting, so its reward table is comparable):
# ~0.06-0.1 s of CPU per position (~24 legal moves, positions from expert games), so 1,000
# positions take ~1-3 min on 2 cores even on a busy machine (scripts/bench_eval.py). A depth limit
# searches every move of a position equally deep, so moves are compared fairly (a node limit
# gives the early PVs more search), and depth 8 is far deeper than the 100-node experts it judges
# (depth ~4-5). depth=10 is ~4x the cost (~0.3 s/position): the choice for "full" runs.
DEFAULT_REWARD_LIMIT = SearchLimit(depth=8)
WDL_MODEL = "lichess"
CACHE_FORMAT = 1

MoveScores = dict[str, float]  # uci -> mover's expected score after that move


def normalize_fen(fen: str | chess.Board) -> str:
    """A canonical FEN (python-chess's own printing), so equal positions share a cache entry."""
    board = fen if isinstance(fen, chess.Board) else _board(fen)
    return board.fen()


def _board(fen: str) -> chess.Board:
    try:
        return chess.Board(fen)
    except ValueError as e:
        raise ValueError(f"not a valid FEN: {fen!r} ({e}); pass positions as FEN strings "
                         "or chess.Board objects") from None


def score_from_eval(score: chess.engine.PovScore, turn: chess.Color) -> float:
    """The expected score (win + draw/2, Lichess WDL model) that an engine evaluation ``score``
    gives the side ``turn``: what a move is worth to the mover (not Elo's expected score, which
    is :func:`~minitranscend.evaluation.ratings.elo_expected_score`)."""
    return float(score.pov(turn).wdl(model=WDL_MODEL).expectation())


def score_moves(engine: Engine, board: chess.Board, limit: SearchLimit) -> MoveScores:
    """Score every legal move of ``board`` for the side to move (one multipv search).

    A node-limited search can stop before every root move has a PV; those moves are then
    searched on their own (``root_moves``) so the result always covers all legal moves.
    """
    legal = list(board.legal_moves)
    if not legal:
        return {}
    turn = board.turn
    game = object()  # ucinewgame: fresh hash, so the result does not depend on what came before
    scores: MoveScores = {}
    for info in engine.analyse(board, limit, multipv=len(legal), game=game):
        if "pv" in info and info["pv"] and "score" in info:
            scores.setdefault(info["pv"][0].uci(), score_from_eval(info["score"], turn))
    missing = [m for m in legal if m.uci() not in scores]
    for m in missing:  # rare; one move at a time is the only way to be sure to get each
        info = engine.analyse(board, limit, multipv=1, game=game, root_moves=[m])[0]
        scores[m.uci()] = score_from_eval(info["score"], turn)
    return scores


def positions_from_games(move_lists: Iterable[str | Sequence[str]], n: int, seed: int = 0,
                         min_ply: int = 4, start_fen: str = chess.STARTING_FEN) -> list[chess.Board]:
    """``n`` random non-terminal positions (boards *with* their move history) from games given as
    UCI move lists (or space-separated strings, e.g. ``games.jsonl``'s ``moves``).

    Used in chapter 6.
    """
    boards = []
    for moves in move_lists:
        board = chess.Board(start_fen)
        for u in (moves.split() if isinstance(moves, str) else moves):
            board.push_uci(u)
            if board.ply() >= min_ply and not board.is_game_over():
                boards.append(board.copy())
    random.Random(seed).shuffle(boards)
    return boards[:n]


# -- cache -------------------------------------------------------------------------------------
def cache_key(limit: SearchLimit, settings: EngineSettings, engine_name: str) -> str:
    """What determines a score: engine version, search limit, UCI settings, WDL model."""
    desc = {"engine": engine_name, "limit": asdict(limit), "settings": asdict(settings),
            "wdl": WDL_MODEL, "format": CACHE_FORMAT}
    return settings_hash(desc, 16)


def _cache_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"scores-{key}.jsonl"


def load_cache(path: Path) -> dict[str, MoveScores]:
    """Read a JSONL cache; a torn last line (a killed run) is dropped and cut off the file, damage
    anywhere else stops with the file and line (:func:`~minitranscend.store.read_jsonl`)."""
    return dict(read_jsonl(
        path, lambda r: (r["fen"], {k: float(v) for k, v in r["scores"].items()})))


# -- workers -----------------------------------------------------------------------------------
def _worker_init(settings: EngineSettings, path: str) -> None:
    worker_state("reward")["engine"] = Engine(settings, path=path)


def _worker_close() -> None:
    engine = worker_state("reward").pop("engine", None)
    if engine is not None:
        engine.close()


def _worker_score(args: tuple[list[str], SearchLimit]) -> list[tuple[str, MoveScores]]:
    fens, limit = args
    engine = worker_state("reward")["engine"]
    return [(fen, score_moves(engine, chess.Board(fen), limit)) for fen in fens]


def analyse_positions(fens: Iterable[str | chess.Board], limit: SearchLimit = DEFAULT_REWARD_LIMIT,
                      workers: int = 2, cache_dir: str | os.PathLike | None = None,
                      settings: EngineSettings = EngineSettings(), engine_path: str | None = None,
                      chunk_size: int = 8, progress: bool = True) -> dict[str, MoveScores]:
    """Score every legal move of every position: ``{fen: {uci: expected score}}``.

    Keys are normalized FENs (:func:`normalize_fen`). Positions without legal moves map to ``{}``.
    With ``cache_dir`` only positions not yet in the cache are analysed, and each finished chunk is
    appended (flushed and fsynced) at once, so an interrupted run resumes where it stopped.
    ``workers`` engine processes run in parallel (one thread each, deterministic).

    Used in chapter 6.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if settings.threads != 1:
        raise ValueError("reward analysis uses threads=1 so that scores are reproducible; "
                         "parallelize with workers= instead")
    wanted = list(dict.fromkeys(normalize_fen(f) for f in fens))
    path = find_stockfish(engine_path)
    key = cache_key(limit, settings, stockfish_version(path))
    cache_file = _cache_path(Path(cache_dir), key) if cache_dir is not None else None
    known = load_cache(cache_file) if cache_file is not None else {}
    todo = [f for f in wanted if f not in known and not chess.Board(f).is_game_over()]
    for f in wanted:
        if f not in known and f not in todo:
            known[f] = {}  # terminal position: nothing to score
    if todo:
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
        chunks = [todo[i:i + chunk_size] for i in range(0, len(todo), chunk_size)]
        bar = tqdm(total=len(todo), desc=f"scoring moves ({limit.describe()})", unit="pos",
                   disable=not progress)
        try:
            for batch in _map_chunks(chunks, limit, settings, path, workers):
                known.update(batch)
                if cache_file is not None:
                    append_jsonl(cache_file, [{"fen": fen, "scores": scores} for fen, scores in batch])
                bar.update(len(batch))
        finally:
            bar.close()
    return {f: known[f] for f in wanted}


def _map_chunks(chunks, limit, settings, path, workers):
    if workers == 1 or len(chunks) == 1:
        _worker_init(settings, path)
        try:
            for c in chunks:
                yield _worker_score((c, limit))
        finally:
            _worker_close()
        return
    with worker_pool(min(workers, len(chunks)), _worker_init, (settings, path)) as pool:
        yield from pool.map(_worker_score, [(c, limit) for c in chunks])


def describe_analysis(limit: SearchLimit, settings: EngineSettings = EngineSettings(),
                      engine_path: str | None = None) -> dict[str, Any]:
    """What produced the scores — goes into every result file. Used in chapter 6."""
    path = find_stockfish(engine_path)
    return {"engine": stockfish_version(path), "path": path, **asdict(settings),
            "limit": limit.describe(), "multipv": "all legal moves", "wdl_model": WDL_MODEL,
            "score": "mover's expected score win + draw/2 after the move"}


# -- rewards -----------------------------------------------------------------------------------
Distribution = Mapping[chess.Move | str, float]


def policy_reward(dist: Distribution, move_scores: MoveScores) -> float:
    """``sum_m p(m) score(m)``: the exact expected reward of a move distribution in one state.

    ``dist`` keys are ``chess.Move`` or UCI strings. Probabilities are renormalized over the
    scored (legal) moves; mass on a move that was not scored is an error, since it would
    silently change the reward.
    """
    if not move_scores:
        raise ValueError("no scored moves: the position is terminal or was not analysed")
    total = 0.0
    acc = 0.0
    for m, p in dist.items():
        if p == 0.0:
            continue
        u = m.uci() if isinstance(m, chess.Move) else m
        if u not in move_scores:
            raise KeyError(f"move {u} has probability {p:.3g} but no score; is it legal in this "
                           "position, and were the scores computed for the same FEN?")
        acc += p * move_scores[u]
        total += p
    if total <= 0:
        raise ValueError("the distribution puts no probability on any legal move")
    return acc / total


def best_reward(move_scores: MoveScores) -> float:
    """The oracle: the reward of always playing the best-scored move."""
    return max(move_scores.values())


Policy = Any  # a Player (has .distribution(board)) or a callable board -> distribution


def _dist_of(policy: Policy, board: chess.Board) -> Distribution:
    if hasattr(policy, "distribution"):
        dist = policy.distribution(board)
        if dist is None:
            raise ValueError(f"player {getattr(policy, 'name', policy)!r} has no exact move "
                             "distribution (e.g. Stockfish below Skill Level 20); it cannot be "
                             "scored by per-state reward")
        return dist
    if callable(policy):
        return policy(board)
    raise TypeError(f"{policy!r} is neither a Player nor a callable board -> distribution")


def evaluate_rewards(policies: Mapping[str, Policy], positions: Sequence[str | chess.Board],
                     move_scores: Mapping[str, MoveScores], progress: bool = True,
                     ) -> dict[str, np.ndarray]:
    """Per-state rewards ``{name: array aligned with positions}``.

    Pass ``chess.Board`` objects built by pushing the game's moves when a policy needs the move
    history (a move-history model cannot read a FEN); FEN strings suffice for experts/board models.

    ``policies`` maps a name to a :class:`~minitranscend.players.Player` (its exact
    ``distribution``), a callable ``board -> {move: p}``, or the string ``"oracle"``.

    Used in chapter 6.
    """
    boards = [p if isinstance(p, chess.Board) else _board(p) for p in positions]
    fens = [b.fen() for b in boards]
    missing = [f for f in fens if f not in move_scores]
    if missing:
        raise KeyError(f"{len(missing)} positions have no move scores (first: {missing[0]}); "
                       "run analyse_positions on the same positions first")
    empty = [f for f in fens if not move_scores[f]]
    if empty:
        raise ValueError(f"{len(empty)} positions are terminal (first: {empty[0]}); drop them")
    out: dict[str, np.ndarray] = {}
    for name, policy in policies.items():
        vals = np.empty(len(fens))
        for i, fen in enumerate(tqdm(fens, desc=f"reward {name}", disable=not progress, leave=False)):
            if isinstance(policy, str) and policy == "oracle":
                vals[i] = best_reward(move_scores[fen])
            else:
                vals[i] = policy_reward(_read_only_dist(name, policy, boards[i]), move_scores[fen])
        out[name] = vals
    return out


def _board_key(board: chess.Board) -> tuple:
    """Cheap fingerprint of a board's state: a policy that moved a piece or left a move on the
    stack changes it."""
    return (len(board.move_stack), board.occupied, board.occupied_co[chess.WHITE], board.turn,
            board.castling_rights, board.ep_square, board.pawns, board.kings)


def _read_only_dist(name: str, policy: Policy, board: chess.Board) -> Distribution:
    """``policy``'s distribution in ``board``, handing it the caller's board itself (a copy per
    policy and state cost more than everything else here: boards carry their whole game) and
    checking that the policy left it as it found it, since every later policy reads it too."""
    key = _board_key(board)
    dist = _dist_of(policy, board)
    if _board_key(board) != key:
        raise RuntimeError(f"policy {name!r} changed the board it was asked about; a policy must "
                           "leave it as it found it (push and pop, or work on board.copy())")
    return dist


# -- statistics --------------------------------------------------------------------------------
def bootstrap_ci(values: Sequence[float] | np.ndarray, n_boot: int = 2000, seed: int = 0,
                 level: float = 0.95, groups: Sequence[Any] | None = None,
                 ) -> tuple[float, float, float]:
    """(mean, lo, hi): percentile bootstrap interval of the mean, resampling states.

    ``groups`` (one label per value, e.g. the game each state comes from) makes it a *cluster*
    bootstrap: whole groups are resampled, because states of one game are not independent
    (one blunder-prone middlegame gives several similar states). With one state per group it is
    the plain bootstrap.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0:
        raise ValueError("bootstrap_ci needs a non-empty 1-D sequence of values")
    if groups is None:
        sums, counts = v, np.ones_like(v)
    else:
        if len(groups) != len(v):
            raise ValueError(f"groups needs one label per value: {len(groups)} labels, {len(v)} values")
        first: dict[Any, int] = {}
        idx = np.array([first.setdefault(g, len(first)) for g in groups])  # in order of appearance
        sums, counts = np.bincount(idx, weights=v), np.bincount(idx).astype(float)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 256):  # batches keep memory small for large n
        k = min(256, n_boot - start)
        pick = rng.integers(0, len(sums), size=(k, len(sums)))
        means[start:start + k] = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(v.mean()), float(lo), float(hi)


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95, groups: Sequence[Any] | None = None,
                        ) -> tuple[float, float, float]:
    """(mean of a - b, lo, hi) on the *same* states: resampling pairs removes the variance that
    comes from which states were drawn, so small differences between policies become visible.
    ``groups``: as in :func:`bootstrap_ci`."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    return bootstrap_ci(a - b, n_boot=n_boot, seed=seed, level=level, groups=groups)


def ratio_bootstrap_ci(num: Sequence[float], den: Sequence[float], n_boot: int = 2000,
                       seed: int = 0, level: float = 0.95, groups: Sequence[Any] | None = None,
                       ) -> tuple[float, float, float]:
    """(mean(num) / mean(den), lo, hi): a percentile bootstrap interval of a ratio of two means
    over the same states, resampling whole ``groups`` (games) as :func:`bootstrap_ci` does. The
    recovery ratio of chapter 7: (model - best expert) / (vote - best expert), state by state.
    The interval is wide (or meaningless) when the denominator's own interval comes near 0."""
    a, b = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"num and den need equal, non-empty 1-D shapes, got {a.shape} and {b.shape}")
    if groups is None:
        groups = range(len(a))
    if len(groups) != len(a):
        raise ValueError(f"groups needs one label per value: {len(groups)} labels, {len(a)} values")
    first: dict[Any, int] = {}
    idx = np.array([first.setdefault(g, len(first)) for g in groups])
    sa, sb = np.bincount(idx, weights=a), np.bincount(idx, weights=b)
    rng = np.random.default_rng(seed)
    ratios = np.empty(n_boot)
    for start in range(0, n_boot, 256):
        k = min(256, n_boot - start)
        pick = rng.integers(0, len(sa), size=(k, len(sa)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[start:start + k] = sa[pick].sum(axis=1) / sb[pick].sum(axis=1)
    q = (1 - level) / 2
    lo, hi = np.nanquantile(ratios, [q, 1 - q])
    point = float(a.sum() / b.sum()) if b.sum() != 0 else float("nan")
    return point, float(lo), float(hi)


def summarize_rewards(rewards: Mapping[str, np.ndarray], baseline: str | None = None,
                      n_boot: int = 2000, seed: int = 0, groups: Sequence[Any] | None = None,
                      ) -> list[dict[str, Any]]:
    """One row per policy: mean reward with 95% interval, and (paired) difference to baseline.
    ``groups``: as in :func:`bootstrap_ci`. Used in chapter 6."""
    rows = []
    for name, v in rewards.items():
        mean, lo, hi = bootstrap_ci(v, n_boot=n_boot, seed=seed, groups=groups)
        row: dict[str, Any] = {"policy": name, "n_states": len(v), "mean": mean, "lo": lo, "hi": hi}
        if baseline is not None:
            d, dlo, dhi = paired_bootstrap_ci(v, rewards[baseline], n_boot=n_boot, seed=seed,
                                              groups=groups)
            row.update({"baseline": baseline, "diff": d, "diff_lo": dlo, "diff_hi": dhi})
        rows.append(row)
    return rows


def state_gains(r_tau: Sequence[float], r_1: Sequence[float]) -> np.ndarray:
    """Per-state gain ``r_tau(s) - r_1(s)`` of a low temperature over temperature 1."""
    a, b = np.asarray(r_tau, dtype=float), np.asarray(r_1, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"rewards must be aligned on the same states, got {a.shape} and {b.shape}")
    return a - b


def gain_concentration(gains: Sequence[float], top: Sequence[float] = (0.01, 0.05, 0.1),
                       ) -> dict[float, float]:
    """Share of the total (net) gain carried by the top fraction of states, largest gains first.

    ``{0.01: 0.4}`` means the best 1% of states carry 40% of the whole gain: low temperature
    helps in a few decisive states (where the majority vote fixes a blunder), not uniformly.
    The share is NaN when the net gain is not positive (there is nothing to apportion).
    """
    g = np.sort(np.asarray(gains, dtype=float))[::-1]
    total = g.sum()
    out = {}
    for q in top:
        if not 0 < q <= 1:
            raise ValueError(f"top fractions must be in (0, 1], got {q}")
        k = max(1, int(round(q * len(g))))
        out[float(q)] = float(g[:k].sum() / total) if total > 0 else float("nan")
    return out


def write_reward_results(out_dir: str | os.PathLike, rewards: Mapping[str, np.ndarray],
                         positions: Sequence[str | chess.Board], analysis: Mapping[str, Any],
                         summary: list[dict[str, Any]] | None = None, extra: Mapping | None = None,
                         groups: Sequence[Any] | None = None) -> dict[str, Path]:
    """Write ``rewards_per_state.csv`` (one row per state; a ``game`` column when ``groups`` is
    given) and ``rewards_summary.json``/``.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fens = [normalize_fen(p) for p in positions]
    names = list(rewards)
    per_state = out / "rewards_per_state.csv"
    atomic_write_csv(per_state, ({"fen": fen, **({"game": groups[i]} if groups is not None else {}),
                                  **{n: f"{rewards[n][i]:.6f}" for n in names}}
                                 for i, fen in enumerate(fens)),
                     fieldnames=["fen", *(["game"] if groups is not None else []), *names])
    summary = summary if summary is not None else summarize_rewards(rewards)
    js = out / "rewards_summary.json"
    atomic_write_json(js, {"analysis": dict(analysis), "summary": summary,
                           **(dict(extra) if extra else {})}, indent=2)
    cs = out / "rewards_summary.csv"
    atomic_write_csv(cs, summary)
    return {"per_state": per_state, "summary_json": js, "summary_csv": cs}
