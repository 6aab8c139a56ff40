"""Play and rate the paper's checkpoints the way the paper did, with the scoring done correctly.

The paper's protocol (``chess_research/eval/utils.py`` and ``evaluation.py`` of
``KempnerInstitute/chess-research``): the model plays Stockfish Skill Levels 1, 3 and 5 at 0.1 s
per move, half the games with each colour, from the standard start, games stopped after 90 moves
(``Globals.MAX_MOVES = 89``) and scored as draws; the model samples up to 10 characters at
temperature tau and gets 5 attempts at a legal move, or loses; ratings by Glicko-2 with the
Stockfish levels pinned at 1554 / 1867 / 2148 (:data:`~minitranscend.evaluation.ratings.PAPER_PINNED`).

What this module does differently, on purpose:

* games go through the package's referee (:func:`minitranscend.referee.play_game`): a stalemate is
  a draw (the authors' harness scored the stalemated side as losing), draws by repetition and the
  fifty-move rule are claimed, and the model's own moves are fed back with their ``+``/``#`` (the
  authors' player stripped ``+`` from the model's output before appending it to the game text);
* Stockfish is pinned (1 thread, 16 MB hash; :class:`~minitranscend.engine.EngineSettings`) and its
  version is recorded in every game's PGN;
* two samplers: ``"paper"`` — the paper's per-character sampler with retries
  (:func:`minitranscend.policy.sample_char_move`); ``"move"`` — the exact move-level temperature
  ``p(move)^(1/tau)`` over the legal moves, the quantity the theory is about
  (:func:`minitranscend.policy.move_distribution`);
* ratings with 95% intervals: maximum likelihood over all games with a bootstrap over games
  (:func:`~minitranscend.evaluation.ratings.bootstrap_elo`), anchored at Skill Level 1 = 1554 (the
  paper's value for it; levels 3 and 5 are *estimated* from the games, not assumed), beside the
  paper's Glicko-2 with all levels pinned (:func:`~minitranscend.evaluation.ratings.glicko2_ratings`,
  over all of a temperature's games, with its order dependence, and per level as the authors'
  ``GlickoCalc`` kept it: one rating per level and temperature).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import chess

from ..engine import recorded_version
from ..evaluation.match import load_games, run_match
from ..evaluation.ratings import PAPER_PINNED, games_from_matches, glicko2_ratings, ratings_table
from ..player_specs import PlayerSpec, model_label
from ..policy import ModelPlayer
from ..referee import GameResult, GameRules, play_game
from ..store import atomic_write_csv, atomic_write_json, file_digest
from .checkpoints import PAPER_PRESET, load_paper_checkpoint

PAPER_TAUS = (0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5)
PAPER_LEVELS = (1, 3, 5)
PAPER_MOVE_TIME = 0.1  # seconds per Stockfish move
PAPER_MAX_PLIES = 180  # 90 moves each, then the authors stopped the game and scored a draw
PAPER_GAMES = 100  # per (level, tau), half with each colour
SAMPLERS = ("paper", "move")  # ModelPlayer's modes: per-character with retries / exact move level


def paper_rules(max_plies: int = PAPER_MAX_PLIES) -> GameRules:
    """The referee's match rules with the paper's 90-move cap (a game stopped there is a draw)."""
    return GameRules(max_plies=max_plies)


def stockfish_opponent(level: int, move_time: float = PAPER_MOVE_TIME) -> PlayerSpec:
    """Stockfish at Skill ``level`` and ``move_time`` seconds per move, named ``sf-skill<level>``
    as in :func:`~minitranscend.evaluation.ratings.paper_ladder`."""
    return PlayerSpec("stockfish", {"skill_level": int(level), "time": float(move_time)},
                      name=f"sf-skill{int(level)}")


@dataclass(frozen=True)
class PaperModel:
    """A picklable recipe for a paper checkpoint played at ``tau`` with ``sampler``.

    Match workers start with ``spawn`` and build their players themselves
    (:func:`~minitranscend.evaluation.match.run_match`): calling the recipe loads the checkpoint
    there. Its ``repr`` (every field) is what a match folder records and checks on resume.
    """

    checkpoint: str
    tau: float
    sampler: str = "paper"
    seed: int = 0
    device: str = "cpu"
    expect: str | None = PAPER_PRESET
    name: str = "paper"

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")

    @property
    def label(self) -> str:
        """The player's name in games and ratings: ``paper-paper-tau0.001``, ``paper-move-tau1``."""
        return model_label(f"{self.name}-{self.sampler}", self.tau)

    def __call__(self) -> ModelPlayer:
        model, tokenizer, meta = load_paper_checkpoint(self.checkpoint, self.device, self.expect)
        return paper_player(model, tokenizer, meta, self.tau, self.sampler, self.seed, self.label)


def paper_player(model, tokenizer, meta: dict[str, Any], tau: float, sampler: str = "paper",
                 seed: int = 0, name: str | None = None) -> ModelPlayer:
    """A loaded paper model as a :class:`~minitranscend.policy.ModelPlayer`: ``sampler="paper"``
    samples characters (10 per attempt, 5 attempts, then a forfeit the referee scores as a loss),
    ``"move"`` samples the exact move-level distribution at temperature ``tau``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    meta = {**meta, "step": meta.get("iter_num")}
    return ModelPlayer(model, tokenizer, tau=tau, name=name or model_label(f"paper-{sampler}", tau),
                       seed=seed, mode=sampler, meta=meta, max_chars=10, retries=5)


def play_paper_game(checkpoint: str | os.PathLike, tau: float, sampler: str = "paper",
                    opponent: str | PlayerSpec | None = None, model_white: bool = True,
                    seed: int = 0, device: str = "cpu", expect: str | None = PAPER_PRESET,
                    max_plies: int = PAPER_MAX_PLIES) -> GameResult:
    """One game of a paper checkpoint against ``opponent`` (default: Stockfish Skill 1 at 0.1 s),
    refereed and scored correctly; the result carries the moves and a PGN with both players'
    settings."""
    model_player = PaperModel(str(checkpoint), tau, sampler, seed, device, expect)()
    opp = stockfish_opponent(1) if opponent is None else \
        (PlayerSpec.parse(opponent) if isinstance(opponent, str) else opponent)
    other = opp.build()
    try:
        white, black = (model_player, other) if model_white else (other, model_player)
        return play_game(white, black, paper_rules(max_plies), seed=seed)
    finally:
        other.close()
        model_player.close()


def rate_paper_model(checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                     taus: Sequence[float] = PAPER_TAUS, levels: Sequence[int] = PAPER_LEVELS,
                     games: int = PAPER_GAMES, sampler: str = "paper", move_time: float = PAPER_MOVE_TIME,
                     max_plies: int = PAPER_MAX_PLIES, seed: int = 0, workers: int = 1,
                     device: str = "cpu", expect: str | None = PAPER_PRESET, name: str = "paper",
                     n_boot: int = 500, glicko_orders: int = 20, progress: bool = True) -> dict[str, Any]:
    """Rate a paper checkpoint at each temperature against Stockfish ``levels``; resumable.

    Every (tau, level) pair is a :func:`~minitranscend.evaluation.match.run_match` folder under
    ``out_dir/matches/`` (named with a hash of the checkpoint's bytes, so another file at the same
    path never resumes these games); rerunning plays only the missing games. Writes
    ``ratings.csv`` (every player, both methods), ``temperature.csv`` (one row per tau: ML rating
    and 95% interval, Glicko-2 as the paper, per-level Glicko-2 and scores) and ``paper.json``
    (settings, engine, checkpoint). Returns ``{"rows", "temperature", "settings"}``.
    """
    levels = sorted({int(k) for k in levels})
    if not levels or any(k not in PAPER_PINNED for k in levels):
        raise ValueError(f"levels must be among the paper's pinned Skill Levels {sorted(PAPER_PINNED)}")
    if not taus:
        raise ValueError("taus is empty; give at least one temperature")
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    ckpt = Path(checkpoint)
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint {ckpt} not found; `minitranscend paper download` first")
    # Checked once here (a clear error before any process starts), then by every worker.
    _, _, meta = load_paper_checkpoint(ckpt, "cpu", expect)
    tag = file_digest(ckpt, "sha1", 10)
    out = Path(out_dir)
    models = {float(t): PaperModel(str(ckpt.resolve()), float(t), sampler, seed, device, expect, name)
              for t in taus}
    if len({m.label for m in models.values()}) != len(models):
        raise ValueError(f"taus {list(taus)} give duplicate player names; use distinct temperatures")
    opponents = {k: stockfish_opponent(k, move_time) for k in levels}
    per_pair: dict[tuple[float, int], list[dict]] = {}
    summaries = []
    for t, m in models.items():
        for k, opp in opponents.items():
            folder = out / "matches" / f"{m.label}-{tag}-vs-{opp.label}"
            s = run_match(m, opp, games, folder, workers=workers, seed=seed, max_plies=max_plies,
                          progress=progress)
            per_pair[(t, k)] = load_games(folder)[:games]
            summaries.append({"tau": t, "level": k, **{x: s.get(x) for x in (
                "games", "wins", "draws", "losses", "score", "score_lo", "score_hi")}})
    all_games = games_from_matches([g for gs in per_pair.values() for g in gs])
    anchor = opponents[levels[0]].label
    pinned = {opponents[k].label: PAPER_PINNED[k] for k in levels}
    rows = ratings_table(all_games, anchor=anchor, anchor_rating=PAPER_PINNED[levels[0]],
                         pinned=pinned, n_boot=n_boot, seed=seed, glicko_orders=glicko_orders)
    by_name = {r["player"]: r for r in rows}
    temperature = []
    for t, m in models.items():
        r = by_name[m.label]
        row = {"tau": t, "player": m.label, "rating": r["rating"], "lo": r.get("lo"), "hi": r.get("hi"),
               "games": r["games"], "score": r["score"], "perfect_score": r["perfect_score"],
               "glicko2": r.get("glicko2"), "glicko2_rd": r.get("glicko2_rd"),
               "glicko2_order_min": r.get("glicko2_order_min"),
               "glicko2_order_max": r.get("glicko2_order_max")}
        for k in levels:  # the authors' GlickoCalc: one rating per (level, tau), from 1500 / RD 500
            gl = glicko2_ratings(games_from_matches(per_pair[(t, k)]), {opponents[k].label: PAPER_PINNED[k]})
            row[f"glicko2_level{k}"] = gl[m.label]["rating"] if m.label in gl else None
            sc = [g["score_a"] for g in per_pair[(t, k)]]
            row[f"score_level{k}"] = sum(sc) / len(sc) if sc else None
        temperature.append(row)
    settings = {"checkpoint": str(ckpt), "checkpoint_sha1": tag, "iter_num": meta.get("iter_num"),
                "high_elo": meta.get("high_elo"), "model_args": meta.get("model_args"),
                "sampler": sampler, "taus": [float(t) for t in taus], "levels": levels,
                "games_per_pair": games, "move_time": move_time, "max_plies": max_plies,
                "seed": seed, "engine": recorded_version(), "anchor": anchor,
                "anchor_rating": PAPER_PINNED[levels[0]], "pinned_for_glicko2": pinned,
                "n_boot": n_boot, "glicko_orders": glicko_orders, "matches": summaries,
                "rules": asdict(paper_rules(max_plies))}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out / "ratings.csv", rows)
    atomic_write_csv(out / "temperature.csv", temperature)
    atomic_write_json(out / "paper.json", {"settings": settings, "ratings": rows,
                                           "temperature": temperature}, indent=2)
    return {"rows": rows, "temperature": temperature, "settings": settings}


def replay_is_legal(moves: Sequence[str], start_fen: str = chess.STARTING_FEN) -> bool:
    """Whether every UCI move of a recorded game is legal in turn (a check for tests and readers)."""
    board = chess.Board(start_fen)
    for u in moves:
        m = chess.Move.from_uci(u)
        if m not in board.legal_moves:
            return False
        board.push(m)
    return True
