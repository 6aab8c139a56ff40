"""Matches: play games between two players, score them correctly, save everything, resume.

What the paper's harness got wrong, and what this module does instead:

* results come from python-chess's ``board.outcome(claim_draw=True)``, checked after every ply:
  checkmate is a win; **stalemate is a draw** (the paper scored it as a loss); insufficient
  material, the 75-move rule and fivefold repetition are automatic draws; threefold repetition
  and the fifty-move rule are *claimed* by the player to move as soon as they can be (a claim is
  also allowed when the move about to be played repeats the position, as FIDE allows);
* a game that reaches ``max_plies`` is a draw with termination ``"ply cap"``, unless the match
  adjudicates (``adjudicate=CP``): then Stockfish judges the final position and a side ahead by
  at least CP centipawns (or with a forced mate) wins, termination ``"ply cap, adjudicated"``;
* a player that returns an illegal move loses (termination ``"illegal move"``), and so does a
  model that raises ``minitranscend.policy.ModelForfeit`` (the paper's failed resamples);
* every game is saved with full PGN headers: both players' settings, engine version, seeds and
  the opening, so any game can be replayed and any result traced;
* each game is a pure function of (player specs, match seed, game index): colours alternate with
  the index, and the opening depends on the *pair* index ``index // 2``, so both colours play the
  same opening;
* finished games are appended (flushed, fsynced) to ``games.jsonl``; a rerun skips every index
  already there, so a killed match resumes without duplicates. ``games.pgn`` and the summaries are
  rewritten from ``games.jsonl`` at the end.

Players are described by a picklable :class:`PlayerSpec` (or any picklable zero-argument callable)
and built inside each worker process, because engine processes and models cannot be pickled.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import chess
import chess.pgn
from tqdm.auto import tqdm

from ..players import ExpertConfig, Expert, Player, RandomPlayer, StockfishPlayer, default_experts
from ..engine import SearchLimit, stockfish_version
from ..data.records import atomic_write_text

DEFAULT_MAX_PLIES = 250  # the experts' own games are capped at 250 plies (pilot); the paper used 180

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


# -- player specs ------------------------------------------------------------------------------
_INT_KEYS = {"nodes", "depth", "skill", "threads", "hash", "seed", "blind_n"}
_FLOAT_KEYS = {"time", "eps", "tau", "movetime"}


def _coerce(key: str, value: str) -> Any:
    if key in _INT_KEYS:
        return int(value)
    if key in _FLOAT_KEYS:
        return float(value)
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def _parse_params(text: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" not in item:
            raise ValueError(f"player parameter {item!r} is not key=value")
        k, v = item.split("=", 1)
        params[k.strip()] = _coerce(k.strip(), v.strip())
    return params


SPEC_HELP = """\
Player spec strings (kind[:args]):
  random                              uniformly random legal moves
  stockfish:skill=3,nodes=200         Stockfish; keys: nodes, depth, time (s), skill (0-20),
                                      threads, hash, name (no limit given: nodes=1000)
  expert:default:0                    the i-th expert of players.default_experts()
  expert:eps=0.2,blind=N,nodes=100    a custom expert; keys: eps, blind (piece letter),
                                      habit (piece letter), habit_rate, nodes, depth,
                                      movetime, skill, name
  model:PATH:tau=0.1                  a checkpoint (minitranscend.train.load_checkpoint) wrapped in
                                      minitranscend.policy.ModelPlayer; other key=value pairs are
                                      passed to ModelPlayer"""


@dataclass(frozen=True)
class PlayerSpec:
    """A picklable recipe for a player: ``kind`` in random|stockfish|expert|model, plus params.

    ``PlayerSpec.parse("stockfish:skill=3,nodes=200").build()`` -> a StockfishPlayer. The spec
    string (``str(spec)``) goes into PGN headers and result files, so a result names exactly what
    produced it and can be rebuilt.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # model checkpoint
    name: str | None = None

    KINDS = ("random", "stockfish", "expert", "model")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown player kind {self.kind!r}; use one of {self.KINDS}\n{SPEC_HELP}")
        if self.kind == "model" and not self.path:
            raise ValueError("a model spec needs a checkpoint path: model:PATH:tau=0.1")

    @classmethod
    def parse(cls, text: str) -> "PlayerSpec":
        """Parse a spec string (see ``SPEC_HELP``)."""
        text = text.strip()
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        if kind == "model":
            path, params = rest, {}
            head, sep, tail = rest.rpartition(":")
            if sep and "=" in tail:
                path, params = head, _parse_params(tail)
            if not path:
                raise ValueError(f"model spec {text!r} needs a checkpoint path: model:PATH:tau=0.1")
            name = params.pop("name", None)
            return cls("model", params, path=path, name=name)
        if kind == "expert" and rest.startswith("default"):
            _, _, idx = rest.partition(":")
            panel = default_experts()
            try:
                i = int(idx or 0)
                panel[i]
            except (ValueError, IndexError):
                raise ValueError(f"{text!r}: expert:default:I needs I in 0..{len(panel) - 1}") from None
            return cls("expert", {"default": i})
        params = _parse_params(rest)
        name = params.pop("name", None)
        return cls(kind, params, name=str(name) if name is not None else None)

    def __str__(self) -> str:
        if self.kind == "expert" and "default" in self.params:
            return f"expert:default:{self.params['default']}"
        items = ",".join(f"{k}={v}" for k, v in self.params.items())
        if self.name:
            items = ",".join(filter(None, [items, f"name={self.name}"]))
        if self.kind == "model":
            return f"model:{self.path}" + (f":{items}" if items else "")
        return self.kind + (f":{items}" if items else "")

    @property
    def label(self) -> str:
        """A short display name."""
        if self.name:
            return self.name
        p = self.params
        if self.kind == "random":
            return "random"
        if self.kind == "stockfish":
            return "stockfish-" + "-".join(f"{k}{v}" for k, v in p.items())
        if self.kind == "expert":
            if "default" in p:
                return default_experts()[p["default"]].name
            return "expert-" + "-".join(f"{k}{v}" for k, v in p.items())
        return f"model-{Path(self.path or '').stem}" + "".join(f"-{k}{v}" for k, v in p.items())

    def build(self) -> Player:
        """Create the player (starts engines / loads the model). Call inside the worker."""
        p = dict(self.params)
        if self.kind == "random":
            return RandomPlayer(name=self.label, seed=int(p.get("seed", 0)))
        if self.kind == "stockfish":
            limit = SearchLimit(nodes=p.pop("nodes", None), depth=p.pop("depth", None),
                                time=p.pop("time", None)) if {"nodes", "depth", "time"} & set(p) \
                else SearchLimit(nodes=1000)
            kw = {"skill_level": p.pop("skill", None), "threads": p.pop("threads", 1),
                  "hash_mb": p.pop("hash", 16)}
            _no_leftovers(self, p)
            return StockfishPlayer(self.label, limit, **kw)
        if self.kind == "expert":
            if "default" in p:
                return Expert(default_experts()[p["default"]])
            blind, habit = p.pop("blind", None), p.pop("habit", None)
            cfg = ExpertConfig(self.label, nodes=p.pop("nodes", 100), depth=p.pop("depth", None),
                               movetime=p.pop("movetime", None), skill_level=p.pop("skill", None),
                               eps=p.pop("eps", 0.0), blind_spot=str(blind) if blind else None,
                               habit=str(habit) if habit else None,
                               habit_rate=float(p.pop("habit_rate", 0.0)))
            _no_leftovers(self, p)
            return Expert(cfg)
        # model: helper modules, imported lazily so that matches without models need no torch
        from ..policy import ModelPlayer
        from ..train import load_checkpoint

        if not Path(self.path).exists():
            raise FileNotFoundError(f"model checkpoint {self.path!r} not found; train one first "
                                    "(minitranscend train) or fix the path")
        model, tokenizer, meta = load_checkpoint(self.path, device="cpu")
        tau = p.pop("tau", 1.0)
        return ModelPlayer(model, tokenizer, tau=tau, name=self.label, meta=meta, **p)

    def __call__(self) -> Player:  # a spec is also a factory
        return self.build()


def _no_leftovers(spec: PlayerSpec, p: dict) -> None:
    if p:
        raise ValueError(f"unknown parameter(s) {sorted(p)} for {spec.kind} player {spec}\n{SPEC_HELP}")


def as_spec(x: PlayerSpec | str | Callable[[], Player]) -> PlayerSpec | Callable[[], Player]:
    """Accept a spec string, a PlayerSpec, or any picklable zero-argument factory."""
    if isinstance(x, str):
        return PlayerSpec.parse(x)
    if isinstance(x, PlayerSpec) or callable(x):
        return x
    raise TypeError(f"a player must be a spec string, a PlayerSpec or a factory, got {x!r}")


def _spec_text(x: Any) -> str:
    return str(x) if isinstance(x, PlayerSpec) else getattr(x, "__qualname__", repr(x))


def _spec_label(x: Any) -> str:
    return x.label if isinstance(x, PlayerSpec) else getattr(x, "__name__", repr(x))


# -- one game ----------------------------------------------------------------------------------
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
        return {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}[self.result] if color == chess.WHITE \
            else {"1-0": 0.0, "0-1": 1.0, "1/2-1/2": 0.5}[self.result]


TERMINATION_NAMES = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient material",
    chess.Termination.SEVENTYFIVE_MOVES: "75-move rule",
    chess.Termination.FIVEFOLD_REPETITION: "fivefold repetition",
    chess.Termination.FIFTY_MOVES: "fifty-move rule",
    chess.Termination.THREEFOLD_REPETITION: "threefold repetition",
}


def game_result(board: chess.Board) -> tuple[str, str] | None:
    """``(result, termination)`` if the game is over by the rules (draw claims included), else None.

    Uses ``board.outcome(claim_draw=True)``: stalemate, insufficient material, threefold
    repetition and the fifty-move rule are draws; checkmate is a win for the side that mated.
    """
    outcome = board.outcome(claim_draw=True)
    if outcome is None:
        return None
    return outcome.result(), TERMINATION_NAMES.get(outcome.termination, outcome.termination.name.lower())


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


def play_game(white: Player, black: Player, seed: int = 0, opening: Sequence[str] = (),
              max_plies: int = DEFAULT_MAX_PLIES, start_fen: str = chess.STARTING_FEN,
              index: int = 0, opening_name: str | None = None,
              headers: dict[str, str] | None = None,
              adjudicator: Callable[[chess.Board], str | None] | None = None) -> GameResult:
    """Play one game. ``opening`` (UCI moves) is played first, for both sides, then the players.
    ``adjudicator``: called on the final position of a game stopped by the ply cap; returns
    ``"1-0"``/``"0-1"`` for a decided position, None for a draw (see :func:`engine_adjudicator`).

    Both players are reset with ``new_game`` (white with ``2*seed``, black with ``2*seed+1``), so
    the game is a pure function of its inputs for players that are deterministic given a seed.
    """
    board = chess.Board(start_fen)
    first_ply = board.ply()
    for u in opening:
        m = chess.Move.from_uci(u)
        if m not in board.legal_moves:
            raise ValueError(f"opening move {u} is illegal in {board.fen()}")
        board.push(m)
    white.new_game(2 * seed)
    black.new_game(2 * seed + 1)
    res = game_result(board)
    while res is None:
        if board.ply() - first_ply >= max_plies:
            verdict = adjudicator(board) if adjudicator is not None else None
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
        res = game_result(board)
    result, termination = res
    moves = [m.uci() for m in board.move_stack]
    g = GameResult(index=index, white=white.name, black=black.name, result=result,
                   termination=termination, plies=len(moves), moves=moves, opening=list(opening),
                   seed=seed, start_fen=start_fen, opening_name=opening_name)
    g.pgn = to_pgn(g, white.describe(), black.describe(), max_plies=max_plies, extra=headers)
    return g


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


def _is_forfeit(e: Exception) -> bool:
    """A model that fails to produce a legal move (the paper's 5 resamples) loses the game."""
    policy = sys.modules.get("minitranscend.policy")
    return policy is not None and isinstance(e, getattr(policy, "ModelForfeit", ()))


def to_pgn(g: GameResult, white_desc: dict, black_desc: dict, max_plies: int | None = None,
           extra: dict[str, str] | None = None) -> str:
    """A PGN game with every header needed to trace and replay it."""
    game = chess.pgn.Game()
    board = chess.Board(g.start_fen)
    if g.start_fen != chess.STARTING_FEN:
        game.setup(board)
    node = game
    for u in g.moves:
        node = node.add_variation(chess.Move.from_uci(u))
    h = game.headers
    h["Event"] = (extra or {}).get("Event", "minitranscend match")
    h["Site"] = "minitranscend"
    h["Date"] = _dt.date.today().strftime("%Y.%m.%d")
    h["Round"] = str(g.index + 1)
    h["White"], h["Black"], h["Result"] = g.white, g.black, g.result
    h["Termination"] = g.termination
    h["PlyCount"] = str(g.plies)
    h["GameIndex"] = str(g.index)
    h["Seed"] = str(g.seed)
    h["Opening"] = g.opening_name or ("random plies" if g.opening else "none")
    h["OpeningMoves"] = " ".join(g.opening)
    if max_plies is not None:
        h["MaxPlies"] = str(max_plies)
    h["WhiteSettings"] = json.dumps(white_desc, sort_keys=True, default=str)
    h["BlackSettings"] = json.dumps(black_desc, sort_keys=True, default=str)
    for k, v in (extra or {}).items():
        h[k] = str(v)
    return str(game)


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


_W: dict[str, Any] = {}


def _match_worker_init(spec_a, spec_b, config: MatchConfig, engine: str, in_pool: bool = False) -> None:
    _W.clear()
    _W.update(a=as_spec(spec_a)(), b=as_spec(spec_b)(), config=config, engine=engine)
    if config.adjudicate is not None:
        from ..engine import Engine

        _W["judge_engine"] = Engine()
        _W["judge"] = engine_adjudicator(_W["judge_engine"], config.adjudicate)
    if in_pool and "torch" in sys.modules:  # one process per core: one torch thread each
        sys.modules["torch"].set_num_threads(1)


def _match_worker_close() -> None:
    for k in ("a", "b", "judge_engine"):
        if k in _W:
            _W[k].close()
    _W.clear()


def _match_play(index: int) -> dict[str, Any]:
    cfg: MatchConfig = _W["config"]
    plan = cfg.game_plan(index)
    a, b = _W["a"], _W["b"]
    white, black = (a, b) if plan["a_white"] else (b, a)
    headers = {"Event": f"{cfg.player_a} vs {cfg.player_b}",
               "WhiteSpec": cfg.player_a if plan["a_white"] else cfg.player_b,
               "BlackSpec": cfg.player_b if plan["a_white"] else cfg.player_a,
               "Engine": _W["engine"], "MatchSeed": str(cfg.seed)}
    g = play_game(white, black, seed=plan["seed"], opening=plan["opening"], max_plies=cfg.max_plies,
                  start_fen=cfg.start_fen, index=index, opening_name=plan["opening_name"],
                  headers=headers, adjudicator=_W.get("judge"))
    rec = asdict(g)
    rec["moves"] = " ".join(g.moves)
    rec["opening"] = " ".join(g.opening)
    rec["a_white"] = plan["a_white"]
    rec["score_a"] = g.score_for(chess.WHITE if plan["a_white"] else chess.BLACK)
    return rec


def _read_games(path: Path) -> dict[int, dict]:
    """Finished games by index; a torn last line (killed run) is dropped and cut off the file."""
    from ..data.records import read_jsonl_prefix

    games: dict[int, dict] = {}
    for rec in read_jsonl_prefix(path, lambda r: (int(r["index"]), r)):
        games.setdefault(*rec)
    return games


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
    far ahead (:func:`engine_adjudicator`) instead of being drawn.
    """
    if n_games < 1:
        raise ValueError(f"n_games must be >= 1, got {n_games}")
    spec_a, spec_b = as_spec(player_a), as_spec(player_b)
    config = MatchConfig(_spec_text(spec_a), _spec_text(spec_b), seed, opening_plies, book,
                         max_plies, start_fen, adjudicate)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "match.json"
    if cfg_path.exists():
        saved = json.loads(cfg_path.read_text())
        # fields added since a folder was written take their defaults (older matches resume)
        saved = {f.name: f.default for f in fields(MatchConfig) if f.default is not MISSING} | saved
        if saved != asdict(config):
            raise ValueError(f"{out} already holds a different match ({saved}); use another "
                             f"out_dir or the same settings ({asdict(config)}) to resume it")
    else:
        atomic_write_text(cfg_path, json.dumps(asdict(config), indent=2))
    jsonl = out / "games.jsonl"
    done = _read_games(jsonl)
    todo = [i for i in range(n_games) if i not in done]
    engine = _engine_name()
    if todo:
        with open(jsonl, "a") as sink, tqdm(total=n_games, initial=n_games - len(todo),
                                            desc=f"{_spec_label(spec_a)} vs {_spec_label(spec_b)}",
                                            unit="game", disable=not progress) as bar:
            for rec in _play_all(todo, spec_a, spec_b, config, engine, workers):
                sink.write(json.dumps(rec) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                done[rec["index"]] = rec
                bar.update(1)
    games = [done[i] for i in sorted(done) if i < n_games]
    atomic_write_text(out / "games.pgn", "\n\n".join(g["pgn"] for g in games) + "\n")
    summary = summarize_match(games, config)
    summary["engine"] = engine
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    with open(out / "summary.csv", "w", newline="") as f:
        flat = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
        w = csv.DictWriter(f, fieldnames=list(flat))
        w.writeheader()
        w.writerow(flat)
    return summary


def _engine_name() -> str:
    try:
        return stockfish_version()
    except FileNotFoundError:
        return "none"


def _play_all(todo, spec_a, spec_b, config, engine, workers):
    if workers <= 1 or len(todo) == 1:
        _match_worker_init(spec_a, spec_b, config, engine)
        try:
            for i in todo:
                yield _match_play(i)
        finally:
            _match_worker_close()
        return
    from .reward import mp_context

    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=mp_context(),
                             initializer=_match_worker_init,
                             initargs=(spec_a, spec_b, config, engine, True)) as pool:
        futures = [pool.submit(_match_play, i) for i in todo]
        for fut in as_completed(futures):
            yield fut.result()


def summarize_match(games: Sequence[dict], config: MatchConfig | None = None, n_boot: int = 2000,
                    seed: int = 0) -> dict[str, Any]:
    """W/D/L and score from A's side, with a 95% bootstrap interval over games and the Elo
    difference that score implies (``400 log10(s / (1 - s))``)."""
    from .ratings import elo_from_score
    from .reward import bootstrap_ci

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
    if config is not None:
        out["config"] = asdict(config)
    return out


def load_games(out_dir: str | os.PathLike) -> list[dict]:
    """The finished games of a match directory, by index (for ratings and figures)."""
    return [g for _, g in sorted(_read_games(Path(out_dir) / "games.jsonl").items())]




def pgn_games(text: str) -> list[chess.pgn.Game]:
    """Parse every game of a PGN string (for tests and notebooks)."""
    f = io.StringIO(text)
    out = []
    while (g := chess.pgn.read_game(f)) is not None:
        out.append(g)
    return out
