"""Matches: play games between two players, score them correctly, save everything, resume.

Games are played by the referee (:func:`minitranscend.referee.play_game`) under
:data:`~minitranscend.referee.MATCH_RULES`: checkmate wins, **stalemate is a draw** (the paper
scored it as a loss), claimable draws are claimed as soon as the rules allow, a game at
``max_plies`` is a draw (``"ply cap"``) unless the match adjudicates (``adjudicate=CP``: Stockfish
judges the final position, :func:`engine_adjudicator`), an illegal move or a model's forfeit
loses. On top of that, this module:

* every game is saved with full PGN headers: both players' settings, engine version, seeds and
  the opening, so any game can be replayed and any result traced;
* each game is a pure function of (player specs, match seed, game index): colours alternate with
  the index, and the opening depends on the *pair* index ``index // 2``, so both colours play the
  same opening;
* finished games are appended (flushed, fsynced) to ``games.jsonl``; a rerun skips every index
  already there, so a killed match resumes without duplicates. ``games.pgn`` and the summaries are
  rewritten from ``games.jsonl`` at the end;
* a game during which a Stockfish process died and was restarted
  (:class:`~minitranscend.engine.Engine`) is kept, but its record carries ``engine_restarts``
  (its PGN an ``EngineRestarts`` header, the summary the total): the restarted process has an
  empty hash, so that game may differ from an undisturbed run's and is not reproducible from
  the seed. Undisturbed games carry no such field.

Memory: each worker builds both players, so it holds one Stockfish process (16 MB hash, ~136 MB
resident) per engine player (``stockfish:…``, ``expert:…``), one more for the judge when the
match adjudicates, and a model's weights (and torch) per model player.

Players are described by a picklable :class:`~minitranscend.player_specs.PlayerSpec` (or any
picklable zero-argument callable) and built inside each worker process, because engine processes
and models cannot be pickled.
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import chess
from tqdm.auto import tqdm

from ..engine import Engine, SearchLimit, engine_restarts, recorded_version
from ..player_specs import PlayerSpec, as_spec, player_label, spec_identity, spec_text
from ..players import Player
from ..referee import DEFAULT_MAX_PLIES, GameRules, game_result, match_headers, play_game
from ..store import append_jsonl, atomic_write_csv, atomic_write_json, atomic_write_text, read_jsonl
from ..workers import completed, worker_pool, worker_state
from .ratings import elo_from_score
from .reward import bootstrap_ci

# A few main lines (UCI), for matches between deterministic players that need different games.
BOOK_OPENINGS: tuple[tuple[str, str], ...] = (
    ("Ruy Lopez", "e2e4 e7e5 g1f3 b8c6 f1b5 a7a6"),
    ("Italian Game", "e2e4 e7e5 g1f3 b8c6 f1c4 f8c5"),
    ("Sicilian Najdorf", "e2e4 c7c5 g1f3 d7d6 d2d4 c5d4 f3d4 g8f6 b1c3 a7a6"),
    ("French Defence", "e2e4 e7e6 d2d4 d7d5 b1c3 g8f6"),
    ("Caro-Kann", "e2e4 c7c6 d2d4 d7d5 b1c3 d5e4 c3e4"),
    ("Queen's Gambit Declined", "d2d4 d7d5 c2c4 e7e6 b1c3 g8f6"),
    ("Slav Defence", "d2d4 d7d5 c2c4 c7c6 g1f3 g8f6"),
    ("King's Indian", "d2d4 g8f6 c2c4 g7g6 b1c3 f8g7 e2e4 d7d6"),
    ("Nimzo-Indian", "d2d4 g8f6 c2c4 e7e6 b1c3 f8b4"),
    ("English Opening", "c2c4 e7e5 b1c3 g8f6 g1f3 b8c6"),
    ("Scandinavian", "e2e4 d7d5 e4d5 d8d5 b1c3 d5a5"),
    ("Pirc Defence", "e2e4 d7d6 d2d4 g8f6 b1c3 g7g6"),
)


def random_opening(seed: int, plies: int, start_fen: str = chess.STARTING_FEN) -> list[str]:
    """``plies`` uniformly random legal moves from ``start_fen``, never ending the game."""
    rng = random.Random(seed)
    for _ in range(100):
        board = chess.Board(start_fen)
        moves = []
        for _ in range(plies):
            legal = list(board.legal_moves)
            if not legal:
                break
            m = rng.choice(legal)
            board.push(m)
            moves.append(m.uci())
        if len(moves) == plies and game_result(board) is None:
            return moves
    raise RuntimeError(f"could not find {plies} random plies that keep the game going")


ADJUDICATION_LIMIT = SearchLimit(depth=12)


def engine_adjudicator(engine: Any, threshold_cp: int,
                       limit: SearchLimit = ADJUDICATION_LIMIT) -> Callable[[chess.Board], str | None]:
    """A ply-cap judge: Stockfish's evaluation of the final position; the side ahead by at least
    ``threshold_cp`` centipawns, or with a forced mate, wins. Engine testing adjudicates the
    same way; here it keeps a model that is winning but cannot finish (it sees no history and
    has never learned to mate) from scoring a draw at an arbitrary cap."""
    def judge(board: chess.Board) -> str | None:
        score = engine.analyse(board, limit)[0]["score"].white()
        if score.is_mate():
            return "1-0" if score.mate() > 0 else "0-1"
        cp = score.score()
        if cp >= threshold_cp:
            return "1-0"
        if cp <= -threshold_cp:
            return "0-1"
        return None
    return judge


# -- a match -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatchConfig:
    """Everything that determines a match's games. Saved as ``match.json``; a rerun must agree."""

    player_a: str
    player_b: str
    seed: int = 0
    opening_plies: int = 0
    book: bool = False
    max_plies: int = DEFAULT_MAX_PLIES
    start_fen: str = chess.STARTING_FEN
    adjudicate: int | None = None  # centipawns; None: a game at the ply cap is a draw

    def game_plan(self, index: int) -> dict[str, Any]:
        """Colours, seed and opening of game ``index`` (pairs share an opening, colours swap)."""
        pair = index // 2
        a_white = index % 2 == 0
        name, opening = None, []
        if self.book:
            name, line = BOOK_OPENINGS[pair % len(BOOK_OPENINGS)]
            opening = line.split()
            if self.opening_plies:  # book line, then random plies: more distinct games
                opening += random_opening(_mix(self.seed, pair, 1), self.opening_plies,
                                          _fen_after(self.start_fen, opening))
        elif self.opening_plies:
            opening = random_opening(_mix(self.seed, pair, 1), self.opening_plies, self.start_fen)
        return {"a_white": a_white, "seed": _mix(self.seed, index, 0), "opening": opening,
                "opening_name": name}


def _mix(seed: int, index: int, salt: int) -> int:
    return (seed * 1_000_003 + index) * 7 + salt


def _fen_after(fen: str, moves: Sequence[str]) -> str:
    b = chess.Board(fen)
    for u in moves:
        b.push_uci(u)
    return b.fen()


def _match_worker_init(spec_a, spec_b, config: MatchConfig, engine: str) -> None:
    w = worker_state("match")
    w.clear()
    w.update(a=as_spec(spec_a)(), b=as_spec(spec_b)(), config=config, engine=engine)
    judge = None
    if config.adjudicate is not None:
        w["judge_engine"] = Engine()
        judge = engine_adjudicator(w["judge_engine"], config.adjudicate)
    w["rules"] = GameRules(max_plies=config.max_plies, adjudicator=judge)


def _match_worker_close() -> None:
    w = worker_state("match")
    for k in ("a", "b", "judge_engine"):
        if k in w:
            w[k].close()
    w.clear()


def _match_play(index: int) -> dict[str, Any]:
    w = worker_state("match")
    cfg: MatchConfig = w["config"]
    plan = cfg.game_plan(index)
    a, b = w["a"], w["b"]
    white, black = (a, b) if plan["a_white"] else (b, a)
    headers = {"Event": f"{cfg.player_a} vs {cfg.player_b}",
               "WhiteSpec": cfg.player_a if plan["a_white"] else cfg.player_b,
               "BlackSpec": cfg.player_b if plan["a_white"] else cfg.player_a,
               "Engine": w["engine"], "MatchSeed": str(cfg.seed)}
    engines = (a, b, w.get("judge_engine"))
    before = engine_restarts(*engines)
    restarts: list[int] = []

    def pgn_headers(g, white, black, rules) -> dict[str, str]:
        restarts.append(engine_restarts(*engines) - before)  # the game is over
        extra = {**headers, "EngineRestarts": str(restarts[0])} if restarts[0] else headers
        return match_headers(g, white.describe(), black.describe(), rules.max_plies, extra)

    g = play_game(white, black, w["rules"], seed=plan["seed"], opening=plan["opening"],
                  start_fen=cfg.start_fen, index=index, opening_name=plan["opening_name"],
                  pgn_headers=pgn_headers)
    rec = asdict(g)
    rec["moves"] = " ".join(g.moves)
    rec["opening"] = " ".join(g.opening)
    rec["a_white"] = plan["a_white"]
    rec["score_a"] = g.score_for(chess.WHITE if plan["a_white"] else chess.BLACK)
    if restarts[0]:  # only then: undisturbed games keep their exact bytes
        rec["engine_restarts"] = restarts[0]
    return rec


def _read_games(path: Path) -> dict[int, dict]:
    """Finished games by index; a torn last line (killed run) is dropped and cut off the file,
    damage anywhere else stops with the file and line (:func:`~minitranscend.store.read_jsonl`)."""
    games: dict[int, dict] = {}
    for rec in read_jsonl(path, lambda r: (int(r["index"]), r)):
        games.setdefault(*rec)
    return games


def _same_match(saved: dict[str, Any], config: MatchConfig) -> bool:
    """Whether a saved ``match.json`` describes ``config``: fields added since it was written take
    their defaults (older matches resume), and player specs compare by meaning, not key order."""
    saved = {f.name: f.default for f in fields(MatchConfig) if f.default is not MISSING} | saved
    new = asdict(config)
    for key in ("player_a", "player_b"):
        saved[key], new[key] = spec_identity(saved[key]), spec_identity(new[key])
    return saved == new


def run_match(player_a: PlayerSpec | str | Callable[[], Player],
              player_b: PlayerSpec | str | Callable[[], Player], n_games: int,
              out_dir: str | os.PathLike, workers: int = 2, seed: int = 0, opening_plies: int = 0,
              book: bool = False, max_plies: int = DEFAULT_MAX_PLIES,
              start_fen: str = chess.STARTING_FEN, progress: bool = True,
              adjudicate: int | None = None) -> dict[str, Any]:
    """Play ``n_games`` between A and B (A is white in even games), resumably, in ``out_dir``.

    Files: ``match.json`` (config), ``games.jsonl`` (one record per game, the source of truth),
    ``games.pgn``, ``summary.json`` and ``summary.csv``. Returns the summary (from A's side).
    Varied openings: ``opening_plies`` random plies and/or ``book=True`` (:data:`BOOK_OPENINGS`),
    chosen by pair index so both colours play each opening. Deterministic players (experts,
    full-strength node-limited Stockfish) need varied openings, or every pair repeats.
    ``adjudicate``: centipawns; games stopped by the ply cap go to the side Stockfish finds that
    far ahead (:func:`engine_adjudicator`) instead of being drawn. ``workers``: processes, each
    building both players: one Stockfish process (16 MB hash, ~136 MB resident) per engine
    player, one more for the judge with ``adjudicate``, a model's weights per model player.
    """
    if n_games < 1:
        raise ValueError(f"n_games must be >= 1, got {n_games}")
    if max_plies < 1:
        raise ValueError(f"max_plies must be >= 1 (a game where nobody moves is no game), got {max_plies}")
    if opening_plies < 0:
        raise ValueError(f"opening_plies must be >= 0, got {opening_plies}")
    longest_book = max(len(line.split()) for _, line in BOOK_OPENINGS) if book else 0
    if opening_plies + longest_book >= max_plies:
        raise ValueError(f"the opening ({opening_plies} random plies"
                         + (f" after book lines of up to {longest_book}" if book else "")
                         + f") leaves no move to the players within max_plies={max_plies}: use "
                           "fewer opening plies or a larger max_plies")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    spec_a, spec_b = as_spec(player_a), as_spec(player_b)
    if player_label(spec_a) == player_label(spec_b) and \
            spec_identity(spec_text(spec_a)) != spec_identity(spec_text(spec_b)):
        raise ValueError(f"the two players are different ({spec_text(spec_a)} and "
                         f"{spec_text(spec_b)}) but share the name {player_label(spec_a)!r} — "
                         "give one a name (…,name=NAME in its spec)")
    config = MatchConfig(spec_text(spec_a), spec_text(spec_b), seed, opening_plies, book,
                         max_plies, start_fen, adjudicate)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "match.json"
    if cfg_path.exists():
        saved = json.loads(cfg_path.read_text())
        if not _same_match(saved, config):
            raise ValueError(f"{out} already holds a different match ({saved}); use another "
                             f"out_dir or the same settings ({asdict(config)}) to resume it")
    else:
        atomic_write_json(cfg_path, asdict(config), indent=2)
    jsonl = out / "games.jsonl"
    done = _read_games(jsonl)
    todo = [i for i in range(n_games) if i not in done]
    engine = recorded_version()
    if todo:
        with tqdm(total=n_games, initial=n_games - len(todo),
                  desc=f"{player_label(spec_a)} vs {player_label(spec_b)}", unit="game",
                  disable=not progress) as bar:
            for rec in _play_all(todo, spec_a, spec_b, config, engine, workers):
                append_jsonl(jsonl, [rec])
                done[rec["index"]] = rec
                bar.update(1)
    games = [done[i] for i in sorted(done) if i < n_games]
    atomic_write_text(out / "games.pgn", "\n\n".join(g["pgn"] for g in games) + "\n")
    summary = summarize_match(games, config)
    summary["engine"] = engine
    atomic_write_json(out / "summary.json", summary, indent=2)
    flat = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    atomic_write_csv(out / "summary.csv", [flat])
    return summary


def _play_all(todo, spec_a, spec_b, config, engine, workers):
    if workers <= 1 or len(todo) == 1:
        _match_worker_init(spec_a, spec_b, config, engine)
        try:
            for i in todo:
                yield _match_play(i)
        finally:
            _match_worker_close()
        return
    with worker_pool(min(workers, len(todo)), _match_worker_init,
                     (spec_a, spec_b, config, engine)) as pool:
        yield from completed(pool.submit(_match_play, i) for i in todo)


def summarize_match(games: Sequence[dict], config: MatchConfig | None = None, n_boot: int = 2000,
                    seed: int = 0) -> dict[str, Any]:
    """W/D/L and score from A's side, with a 95% bootstrap interval over games and the Elo
    difference that score implies (``400 log10(s / (1 - s))``)."""
    scores = [g["score_a"] for g in games]
    w = sum(s == 1.0 for s in scores)
    d = sum(s == 0.5 for s in scores)
    l = sum(s == 0.0 for s in scores)
    out: dict[str, Any] = {"player_a": config.player_a if config else None,
                           "player_b": config.player_b if config else None,
                           "games": len(games), "wins": w, "draws": d, "losses": l}
    if games:
        mean, lo, hi = bootstrap_ci(scores, n_boot=n_boot, seed=seed)
        out.update(score=mean, score_lo=lo, score_hi=hi, elo_diff=elo_from_score(mean),
                   elo_diff_lo=elo_from_score(lo), elo_diff_hi=elo_from_score(hi))
    terms: dict[str, int] = {}
    for g in games:
        terms[g["termination"]] = terms.get(g["termination"], 0) + 1
    out["terminations"] = terms
    out["mean_plies"] = sum(g["plies"] for g in games) / max(1, len(games))
    restarted = sum(g.get("engine_restarts", 0) for g in games)
    if restarted:  # games played on by a restarted engine (not reproducible from the seed)
        out["engine_restarts"] = restarted
    if config is not None:
        out["config"] = asdict(config)
    return out


def load_games(out_dir: str | os.PathLike) -> list[dict]:
    """The finished games of a match directory, by index (for ratings and figures)."""
    return [g for _, g in sorted(_read_games(Path(out_dir) / "games.jsonl").items())]


def saved_players(match_dirs: Sequence[str | os.PathLike]) -> Iterator[tuple[Path, str]]:
    """``(folder, spec text)`` of both players of every match folder that has a ``match.json``:
    who the names in its games stand for."""
    for d in match_dirs:
        cfg_path = Path(d) / "match.json"
        if not cfg_path.is_file():
            continue
        saved = json.loads(cfg_path.read_text())
        for key in ("player_a", "player_b"):
            if saved.get(key) is not None:
                yield Path(d), saved[key]


def check_unique_labels(match_dirs: Sequence[str | os.PathLike]) -> None:
    """Refuse to rate matches in which one name stands for two different players.

    Games record players by label, and a model's label comes from its checkpoint's file name
    and temperature (``model-best-tau0.1``): two checkpoints named ``best.pt`` from two runs
    would otherwise be merged into one rating. The specs in each folder's ``match.json`` say
    who each name is (ValueError naming both, and what to do)."""
    seen: dict[str, tuple[Any, str, str]] = {}
    for d, text in saved_players(match_dirs):
        try:
            label = PlayerSpec.parse(text).label
        except ValueError:
            label = text  # a factory's name stands for itself
        ident = spec_identity(text)
        if label in seen and seen[label][0] != ident:
            raise ValueError(
                f"the name {label!r} stands for two different players: {seen[label][1]} (in "
                f"{seen[label][2]}) and {text} (in {d}); their games would merge into one "
                "rating — replay one of them with name=… in its spec")
        seen.setdefault(label, (ident, text, str(d)))
