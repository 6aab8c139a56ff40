"""Players: everything that can choose a move — experts, Stockfish, a random mover, models.

One small interface, :class:`Player`, so that data generation, matches and the per-state reward
treat a noisy expert, a Stockfish level and a trained transformer alike:

* ``choose(board) -> chess.Move`` plays one move (the board is not modified);
* ``new_game(seed)`` resets per-game state (random stream, engine hash) so that every game is a
  pure function of its seed — the basis of reproducible, resumable generation and matches;
* ``distribution(board)`` returns the *exact* move distribution where one is known (the random
  player, the experts, a model), or ``None``; the per-state reward uses it instead of sampling;
* ``describe()`` returns the settings that go into PGN headers and result files.

Model players live in :mod:`minitranscend.policy` and implement the same interface. Players
are named, described as spec strings and built in worker processes by
:mod:`minitranscend.player_specs`; games between them are played by :mod:`minitranscend.referee`.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, runtime_checkable

import chess
import numpy as np

from .engine import Engine, EngineSettings, SearchLimit
from .temperature import apply_temperature

PIECE_NAMES = {"P": chess.PAWN, "N": chess.KNIGHT, "B": chess.BISHOP, "R": chess.ROOK,
               "Q": chess.QUEEN, "K": chess.KING}


@runtime_checkable
class Player(Protocol):
    name: str

    def new_game(self, seed: int) -> None: ...

    def choose(self, board: chess.Board) -> chess.Move: ...

    def distribution(self, board: chess.Board) -> dict[chess.Move, float] | None: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Closing:
    """``with player: ...`` closes the player (stops its engine, if it has one) on the way out."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RandomPlayer(Closing):
    """Plays a uniformly random legal move: the bottom rung of every ladder. Used in chapter 6."""

    def __init__(self, name: str = "random", seed: int = 0) -> None:
        self.name = name
        self.rng = random.Random(seed)

    def new_game(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choose(self, board: chess.Board) -> chess.Move:
        moves = list(board.legal_moves)
        if not moves:
            raise ValueError(f"no legal moves in {board.fen()} (game is over)")
        return self.rng.choice(moves)

    def distribution(self, board: chess.Board) -> dict[chess.Move, float]:
        moves = list(board.legal_moves)
        return {m: 1.0 / len(moves) for m in moves}

    def describe(self) -> dict[str, Any]:
        return {"type": "random", "name": self.name}



@dataclass(frozen=True)
class ExpertConfig:
    """A Stockfish-backed expert with a strength and an error model.

    Strength: the search ``limit`` and optional ``skill_level``.

    Errors, two kinds, because the transcendence theory distinguishes them:

    * ``eps`` — with probability eps the expert plays a uniformly random legal move. Random,
      uncorrelated noise: a mixture of such experts has the *right* move as its mode, so a
      low-temperature model can remove it (skill denoising).
    * ``blind_spot`` — a piece letter (``"N"``, ``"B"``, ``"R"``, ``"Q"``, ``"K"``, ``"P"``). The
      expert never sees moves of that piece: when its engine move moves such a piece, it plays
      the engine's best move among the other legal moves instead. A *systematic* error: every
      game by this expert makes it in the same situations. Experts with different blind spots
      out-vote each other; experts who share one do not.
    * ``habit`` and ``habit_rate`` — a piece letter and a probability. With probability
      habit_rate the expert plays its *habit move*, whenever it has one: the move that takes its
      habit piece farthest forward (a reckless player who keeps pushing its favourite piece up
      the board; among equally far moves, the engine's choice). A *systematic* error that a
      model can learn (it is a simple function of the position) and that concentrates on one
      move: when experts share a habit with habit_rate > 1/2, the habit move is the mode of their
      games and a low-temperature model plays it every time; when their habits differ, each habit
      move carries only habit_rate / n of the mixture and the engine move stays the mode. This
      is the main experiment's diversity ablation (a shared blind spot costs too little to show:
      the engine's runner-up move is usually almost as good as its first choice).
    """

    name: str
    nodes: int | None = 100
    depth: int | None = None
    movetime: float | None = None
    skill_level: int | None = None
    eps: float = 0.0
    blind_spot: str | None = None
    habit: str | None = None
    habit_rate: float = 0.0

    def __post_init__(self) -> None:
        # Checked before any engine starts (an experts file is read long before the workers are).
        if self.skill_level is not None:
            EngineSettings(skill_level=self.skill_level)  # ValueError naming Skill Level
        for field_name in ("nodes", "depth"):
            value = getattr(self, field_name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{field_name} must be an integer >= 1, got {value!r}")
        if self.movetime is not None and not (isinstance(self.movetime, (int, float))
                                              and 0 < self.movetime < float("inf")):
            raise ValueError(f"movetime must be a number of seconds > 0, got {self.movetime!r}")
        if self.nodes is None and self.depth is None and self.movetime is None:
            raise ValueError(f"expert {self.name!r} needs a search limit: nodes, depth or movetime")
        for field_name in ("eps", "habit_rate"):
            value = getattr(self, field_name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{field_name} must be a probability in [0, 1], got {value}")
        for field_name in ("blind_spot", "habit"):
            value = getattr(self, field_name)
            if value is not None and value.upper() not in PIECE_NAMES:
                raise ValueError(f"{field_name} must be one of {sorted(PIECE_NAMES)}, got {value!r}")
        if self.habit_rate > 0 and self.habit is None:
            raise ValueError("habit_rate > 0 needs a habit piece, e.g. habit='N'")

    @property
    def limit(self) -> SearchLimit:
        return SearchLimit(nodes=self.nodes, depth=self.depth, time=self.movetime)

    def header(self) -> str:
        """A compact one-line description for PGN headers."""
        return ";".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None and k != "name")


class StockfishPlayer(Closing):
    """Stockfish at a given Skill Level and search limit (a ladder rung or an expert's engine).

    Used in chapter 6.
    """

    def __init__(self, name: str, limit: SearchLimit, skill_level: int | None = None,
                 threads: int = 1, hash_mb: int = 16, engine_path: str | None = None) -> None:
        self.name = name
        self.limit = limit
        self.engine = Engine(EngineSettings(threads=threads, hash_mb=hash_mb,
                                            skill_level=skill_level), path=engine_path)
        self._game: object = object()

    def new_game(self, seed: int) -> None:
        # A new game key makes python-chess send ucinewgame: Stockfish clears its hash, so a
        # node-limited single-thread search is a pure function of the position sequence.
        # (Skill Level < 20 uses Stockfish's own RNG, which it seeds from the clock: those
        # players are not reproducible, by Stockfish's design.)
        self._game = ("game", seed)

    def choose(self, board: chess.Board) -> chess.Move:
        return self.engine.play(board, self.limit, game=self._game)

    def distribution(self, board: chess.Board) -> dict[chess.Move, float] | None:
        if self.engine.settings.skill_level not in (None, 20):
            return None  # Skill Level randomizes internally; its distribution is not exposed
        return {self.choose(board): 1.0}

    def describe(self) -> dict[str, Any]:
        return {"type": "stockfish", "name": self.name, "limit": self.limit.describe(),
                **self.engine.describe()}

    def close(self) -> None:
        self.engine.close()


class Expert(Closing):
    """A Stockfish-backed expert (see :class:`ExpertConfig`) with a reproducible error stream.

    Used in chapters 5, 6.
    """

    def __init__(self, config: ExpertConfig, seed: int = 0, engine_path: str | None = None) -> None:
        self.config = config
        self.name = config.name
        self.engine = Engine(EngineSettings(skill_level=config.skill_level), path=engine_path)
        self.rng = random.Random(seed)
        self._game: object = ("game", seed)
        self.blind_piece = PIECE_NAMES[config.blind_spot.upper()] if config.blind_spot else None
        self.habit_piece = PIECE_NAMES[config.habit.upper()] if config.habit else None

    def new_game(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._game = ("game", seed)

    def start_search(self, key: object) -> None:
        """Make the next search start from an empty hash (Stockfish's ``ucinewgame``) under a new
        ``key``; searches under one key share the hash, as the moves of one game do. The
        reference policies search each state under its own key, so that the engine's move in a
        state does not depend on which states were searched before it."""
        self._game = key

    def engine_move(self, board: chess.Board) -> chess.Move:
        """The move the expert plays when it does not make a random error (blind spot applied)."""
        move = self.engine.play(board, self.config.limit, game=self._game)
        if self.blind_piece is not None and board.piece_type_at(move.from_square) == self.blind_piece:
            others = [m for m in board.legal_moves
                      if board.piece_type_at(m.from_square) != self.blind_piece]
            if others:
                move = self.engine.play(board, self.config.limit, root_moves=others, game=self._game)
        return move

    def habit_move(self, board: chess.Board) -> chess.Move | None:
        """The habit piece's most forward move (ranks gained, from the mover's side; ties go to
        the engine), or None: no habit, or that piece cannot move here."""
        if self.habit_piece is None:
            return None
        sign = 1 if board.turn == chess.WHITE else -1
        gain = {m: sign * (chess.square_rank(m.to_square) - chess.square_rank(m.from_square))
                for m in board.legal_moves if board.piece_type_at(m.from_square) == self.habit_piece}
        if not gain:
            return None
        top = max(gain.values())
        far = [m for m, g in gain.items() if g == top]
        if len(far) == 1:
            return far[0]
        return self.engine.play(board, self.config.limit, root_moves=far, game=self._game)

    def own_move(self, board: chess.Board) -> chess.Move:
        """The expert's most likely move leaving out random slips: its habit move when the
        habit is more likely than not and applies, else its engine move (blind spot applied)."""
        habit = self.habit_move(board) if self.config.habit_rate > 0.5 else None
        return habit if habit is not None else self.engine_move(board)

    def choose(self, board: chess.Board) -> chess.Move:
        moves = list(board.legal_moves)
        if not moves:
            raise ValueError(f"no legal moves in {board.fen()} (game is over)")
        # Draw the error coins first, always, so the random stream does not depend on the engine
        # (the habit coin only for experts that have a habit: older panels keep their games).
        slip = self.rng.random()
        habit = self.rng.random() if self.config.habit_rate > 0 else 1.0
        if slip < self.config.eps:
            return self.rng.choice(moves)
        if habit < self.config.habit_rate:
            move = self.habit_move(board)
            if move is not None:
                return move
        return self.engine_move(board)

    def distribution(self, board: chess.Board) -> dict[chess.Move, float]:
        """Exact: eps spread uniformly over all legal moves; of the rest, habit_rate on the habit
        move (when the habit piece can move) and the remainder on the engine move (see
        :func:`expert_mixture`)."""
        moves = list(board.legal_moves)
        if self.config.eps >= 1.0:
            return expert_mixture(self.config, moves, None, None)
        habit = self.habit_move(board) if self.config.habit_rate > 0 else None
        return expert_mixture(self.config, moves, self.engine_move(board), habit)

    def describe(self) -> dict[str, Any]:
        return {"type": "expert", **asdict(self.config), **self.engine.describe()}

    def close(self) -> None:
        self.engine.close()


def expert_mixture(config: ExpertConfig, moves: list[chess.Move], engine_move: chess.Move | None,
                   habit_move: chess.Move | None) -> dict[chess.Move, float]:
    """An expert's exact move distribution from the moves its engine and its habit pick: ``eps``
    spread over all legal ``moves``; of the rest, ``habit_rate`` on ``habit_move`` (None: the
    habit piece cannot move) and the remainder on ``engine_move``.

    The one home of the experts' error model: :meth:`Expert.distribution` uses it with the moves
    of its own engine, and the reward stage with moves computed once per state for a whole panel
    (every expert of the course shares one engine setting), so that thirty experts, their
    slip-free versions and their votes cost one engine call per state and piece, not one each."""
    eps = config.eps
    dist = {m: eps / len(moves) for m in moves}
    rest = 1.0 - eps
    if rest > 0:
        if habit_move is not None and config.habit_rate > 0:
            dist[habit_move] += rest * config.habit_rate
            rest *= 1.0 - config.habit_rate
        if rest > 0:
            if engine_move is None:
                raise ValueError(f"expert {config.name!r} needs its engine move here")
            dist[engine_move] += rest
    return dist


def without_slips(config: ExpertConfig) -> ExpertConfig:
    """``config`` with ``eps = 0``, named ``<name>-noslip``: the expert as it plays when it never
    slips (its habit kept). A reference policy of the main experiment: what a model that
    removed only the random errors of one expert would reach. Used in chapter 7."""
    return replace(config, name=f"{config.name}-noslip", eps=0.0)


def panel_mixture(dists: list[dict[chess.Move, float]]) -> dict[chess.Move, float]:
    """The panel's averaged exact move distribution: what a model that cannot tell the
    experts apart learns at best (chapter 7). :func:`exact_vote` is its argmax."""
    if not dists:
        raise ValueError("a panel needs at least one distribution")
    moves = dict.fromkeys(m for d in dists for m in d)
    return {m: sum(d.get(m, 0.0) for d in dists) / len(dists) for m in moves}


def exact_vote(dists: list[dict[chess.Move, float]]) -> dict[chess.Move, float]:
    """The exact majority vote of a panel: the argmax of its members' averaged exact move
    distributions, ties split evenly (:func:`~minitranscend.temperature.apply_temperature` at
    tau = 0 of the mixture). The theory's prediction for a model that learned the panel's games
    perfectly and plays at temperature 0: the ceiling of chapter 7's figures.

    Used in chapter 7."""
    if not dists:
        raise ValueError("exact_vote needs at least one distribution")
    mixture = panel_mixture(dists)
    mean = np.array(list(mixture.values()))
    return {m: float(p) for m, p in zip(mixture, apply_temperature(mean, 0.0)) if p > 0}


def default_experts() -> list[ExpertConfig]:
    """The course's default, diverse panel: same engine strength, independent random errors,
    and each expert blind to a different piece (so their systematic errors do not coincide)."""
    return [
        ExpertConfig("expert-N", nodes=100, eps=0.2, blind_spot="N"),
        ExpertConfig("expert-B", nodes=100, eps=0.2, blind_spot="B"),
        ExpertConfig("expert-R", nodes=100, eps=0.2, blind_spot="R"),
        ExpertConfig("expert-Q", nodes=100, eps=0.2, blind_spot="Q"),
    ]
