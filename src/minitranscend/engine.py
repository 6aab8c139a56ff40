"""Stockfish access: find it, start it, configure it, record what it is, and never leak it.

Every use of the engine in minitranscend goes through this module, so that

* a missing Stockfish fails with one clear message that says how to install it,
* every result that depends on the engine can record *which* engine and settings produced it
  (:func:`stockfish_version`, :meth:`Engine.describe`),
* a crashed engine process is restarted and the request retried instead of killing a long run;
  the restart is counted (:attr:`Engine.restarts`, :func:`engine_restarts`) and the game records
  say so, because the new process starts with an empty hash and may play that game otherwise
  than an undisturbed run (the game is then no longer reproducible from its seed),
* engine processes are closed when the owning object is (context manager, ``close`` and a
  finalizer as a last resort).
"""
from __future__ import annotations

import functools
import os
import shutil
import threading
import weakref
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import chess
import chess.engine

SEARCH_DIRS = ("/usr/games", "/usr/local/bin", "/opt/homebrew/bin", "/usr/bin")

INSTALL_HELP = """\
Stockfish (a UCI chess engine) was not found, and minitranscend needs a real one.
Install it with one of:
  Debian / Ubuntu / WSL:  sudo apt-get install -y stockfish     (installs /usr/games/stockfish)
  Google Colab:           !apt-get install -y stockfish
  macOS (Homebrew):       brew install stockfish
  anything else:          download from https://stockfishchess.org/download/ and
                          export STOCKFISH_PATH=/path/to/stockfish
Searched: $STOCKFISH_PATH, then PATH, then {dirs}."""


class StockfishNotFoundError(FileNotFoundError):
    """Raised when no Stockfish binary can be found; the message says how to install one."""


class EngineStartError(RuntimeError):
    """The program found as Stockfish did not start as a UCI engine (not an engine, crashed, or
    silent): raised at once with the path and where it came from, instead of a bare timeout.
    ``died``: the process was started and then died (killed or crashed), as opposed to a program
    that could not be run or did not answer."""

    def __init__(self, message: str, died: bool = False) -> None:
        super().__init__(message)
        self.died = died


START_TIMEOUT_S = 10.0  # python-chess's default wait for ``uciok``


def _where(path: str) -> str:
    """Where the engine path came from, for error messages: the fix differs."""
    env = os.environ.get("STOCKFISH_PATH")
    if env and path in (env, shutil.which(env)):
        return "$STOCKFISH_PATH"
    return "the search of PATH and the usual install folders"


def popen_engine(path: str, timeout: float | None = None) -> chess.engine.SimpleEngine:
    """Start ``path`` as a UCI engine, or raise :class:`EngineStartError` naming the path and
    ``$STOCKFISH_PATH``. python-chess kills the process itself when the UCI handshake fails.
    ``timeout``: seconds to wait for the handshake (default :data:`START_TIMEOUT_S`)."""
    timeout = START_TIMEOUT_S if timeout is None else timeout
    try:
        return chess.engine.SimpleEngine.popen_uci(path, timeout=timeout)
    except (TimeoutError, chess.engine.EngineError, chess.engine.EngineTerminatedError,
            OSError) as e:
        why = "did not answer the UCI handshake within " f"{timeout:g} s" \
            if isinstance(e, TimeoutError) else f"failed to start ({type(e).__name__}: {e})"
        raise EngineStartError(
            f"{path} (found through {_where(path)}) {why}: it is not a working UCI chess engine. "
            "Point STOCKFISH_PATH at a Stockfish binary (or unset it to search PATH and "
            "/usr/games)", died=isinstance(e, chess.engine.EngineTerminatedError)) from None


def find_stockfish(path: str | os.PathLike | None = None) -> str:
    """Return the path of a Stockfish binary.

    Looks at ``path``, then ``$STOCKFISH_PATH``, then ``PATH``, then the usual install
    directories (Debian puts it in ``/usr/games``, which is not on every user's PATH).

    Used in chapter 6.
    """
    explicit = path or os.environ.get("STOCKFISH_PATH")
    if explicit:
        p = os.fspath(explicit)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
        found = shutil.which(p)
        if found:
            return found
        raise StockfishNotFoundError(
            f"STOCKFISH_PATH / path points to {p!r}, which is not an executable file.\n"
            + INSTALL_HELP.format(dirs=", ".join(SEARCH_DIRS))
        )
    found = shutil.which("stockfish")
    if found:
        return found
    for d in SEARCH_DIRS:
        p = os.path.join(d, "stockfish")
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise StockfishNotFoundError(INSTALL_HELP.format(dirs=", ".join(SEARCH_DIRS)))


@functools.lru_cache(maxsize=None)
def _version_of(path: str) -> str:
    engine = popen_engine(path)
    try:
        return engine.id.get("name", "Stockfish (unknown version)")
    finally:
        engine.quit()


def stockfish_version(path: str | os.PathLike | None = None) -> str:
    """The engine's own name string, e.g. ``'Stockfish 15.1'``. Recorded with every result.

    Used in chapter 6.
    """
    return _version_of(find_stockfish(path))


def recorded_version() -> str:
    """The Stockfish version a result file records, or ``"none"`` where no engine is installed
    (a match between players that need none still writes its files)."""
    try:
        return stockfish_version()
    except FileNotFoundError:
        return "none"


@dataclass(frozen=True)
class EngineSettings:
    """UCI options that change what Stockfish plays. Recorded with every result.

    ``threads=1`` (the default) together with a node limit makes Stockfish deterministic,
    which is what reproducible data generation and evaluation need.
    """

    threads: int = 1
    hash_mb: int = 16
    skill_level: int | None = None  # 0..20; None leaves Stockfish at full strength (20)

    def __post_init__(self) -> None:
        # Checked here, before any process starts: an option Stockfish refuses used to fail
        # inside ``configure`` with the engine already running (and the program hung at exit).
        for name, lo, hi in (("threads", 1, 1024), ("hash_mb", 1, 1 << 20), ("skill_level", 0, 20)):
            v = getattr(self, name)
            if v is None and name == "skill_level":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                label = "Skill Level" if name == "skill_level" else name
                raise ValueError(f"engine option {label} ({name}) must be an integer in {lo}..{hi}, "
                                 f"got {v!r}")

    def uci_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"Threads": self.threads, "Hash": self.hash_mb}
        if self.skill_level is not None:
            opts["Skill Level"] = self.skill_level
        return opts


@dataclass(frozen=True)
class SearchLimit:
    """How long Stockfish thinks per move. Exactly one kind of limit is usual; all are allowed.

    Used in chapter 6.
    """

    nodes: int | None = None
    depth: int | None = None
    time: float | None = None  # seconds

    def __post_init__(self) -> None:
        if self.nodes is None and self.depth is None and self.time is None:
            raise ValueError("SearchLimit needs at least one of nodes=, depth=, time=")

    def to_chess(self) -> chess.engine.Limit:
        return chess.engine.Limit(nodes=self.nodes, depth=self.depth, time=self.time)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in asdict(self).items() if v is not None]
        return ",".join(parts)


class Engine:
    """One Stockfish process with restart-and-retry.

    >>> with Engine(EngineSettings(skill_level=3)) as eng:          # doctest: +SKIP
    ...     move = eng.play(chess.Board(), SearchLimit(nodes=200))

    If the process dies (killed, crashed, pipe closed) the request is retried on a fresh
    process up to ``retries`` times, so one bad moment does not end an hour-long run.
    ``restarts`` counts those fresh processes. A restart is not invisible: the new process has an
    empty hash, so a node-limited search can choose another move than the old process would have,
    and the game under way is no longer a pure function of its seed. Callers that promise
    reproducible games record it (:func:`engine_restarts`; self-play records carry
    ``engine_restarts``, match records too).

    Memory: one process is ~136 MB resident with the default 16 MB hash (Stockfish 15.1 measured:
    ~86 MB private, ~50 MB the binary's pages shared between processes), plus ``hash_mb`` above
    16 (:func:`engine_memory_mb`).

    Used in chapter 6.
    """

    def __init__(self, settings: EngineSettings = EngineSettings(), path: str | None = None,
                 retries: int = 2) -> None:
        self.settings = settings
        self.path = find_stockfish(path)
        self.retries = retries
        self.restarts = 0
        self._engine: chess.engine.SimpleEngine | None = None
        self._finalizer: weakref.finalize | None = None
        self._start()

    # -- lifecycle -------------------------------------------------------------------------
    def _start(self) -> None:
        """Start a process; one that dies while starting (killed during its handshake or its
        configuration) is started again, up to ``retries`` times: only a program that does not
        work fails the start."""
        for attempt in range(self.retries + 1):
            try:
                return self._start_once()
            except EngineStartError as e:
                if not e.died or attempt == self.retries:
                    raise

    def _start_once(self) -> None:
        engine = popen_engine(self.path)
        # Cleanup is registered before anything else can fail: an engine left running with no
        # owner keeps python-chess's non-daemon thread alive and the program never exits.
        self._engine = engine
        self._finalizer = weakref.finalize(self, _quietly_close, engine)
        _LIVE_ENGINES.add(self)
        try:
            engine.configure(self.settings.uci_options())
        except BaseException as e:
            self.close()
            if isinstance(e, chess.engine.EngineTerminatedError):
                raise EngineStartError(f"{self.path} died while being configured ({e})",
                                       died=True) from None
            if isinstance(e, chess.engine.EngineError):
                raise EngineStartError(f"{self.path} refused the options {self.settings.uci_options()}"
                                       f" ({e}); check the engine settings") from None
            raise

    def _restart(self) -> None:
        self.restarts += 1
        if self._finalizer is not None:
            self._finalizer()
        self._start()

    def close(self) -> None:
        """Stop the engine process. Safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()
        self._engine = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def raw(self) -> chess.engine.SimpleEngine:
        """The underlying python-chess engine, for the rare call this class does not wrap."""
        if self._engine is None:
            raise RuntimeError("engine is closed")
        return self._engine

    def _call(self, fn):
        for attempt in range(self.retries + 1):
            try:
                return fn(self.raw)
            except (chess.engine.EngineTerminatedError, chess.engine.EngineError,
                    BrokenPipeError, ConnectionResetError):
                if attempt == self.retries:
                    raise
                self._restart()

    # -- requests --------------------------------------------------------------------------
    def play(self, board: chess.Board, limit: SearchLimit,
             root_moves: Iterable[chess.Move] | None = None, game: object = None) -> chess.Move:
        """The engine's move. ``game`` changes -> ``ucinewgame`` (fresh hash, reproducible)."""
        rm = list(root_moves) if root_moves is not None else None
        result = self._call(lambda e: e.play(board, limit.to_chess(), root_moves=rm, game=game))
        if result.move is None:
            raise RuntimeError(f"engine returned no move for {board.fen()}")
        return result.move

    def analyse(self, board: chess.Board, limit: SearchLimit, multipv: int | None = None,
                game: object = None,
                root_moves: Iterable[chess.Move] | None = None) -> list[chess.engine.InfoDict]:
        """A list of principal variations (one per move with ``multipv``), best first.

        ``root_moves`` restricts the search to those moves (used to score moves that a
        node-limited multipv search did not reach)."""
        rm = list(root_moves) if root_moves is not None else None
        return self._call(lambda e: e.analyse(board, limit.to_chess(), multipv=multipv or 1,
                                              game=game, root_moves=rm))

    def describe(self) -> dict[str, Any]:
        """What produced a result: engine name/version and every option that matters."""
        return {"engine": _version_of(self.path), "path": self.path, **asdict(self.settings)}


def engine_restarts(*players: object) -> int:
    """How many engine processes were restarted, summed over the distinct ``players`` (an
    :class:`Engine`, or anything whose ``engine`` attribute is one; others count 0). Take it
    before and after a game: the difference is the restarts during that game."""
    seen: set[int] = set()
    total = 0
    for p in players:
        eng = p if isinstance(p, Engine) else getattr(p, "engine", None)
        if isinstance(eng, Engine) and id(eng) not in seen:
            seen.add(id(eng))
            total += eng.restarts
    return total


ENGINE_BASE_MB = 120  # resident memory of one Stockfish 15.1 process, less its hash (measured)


def engine_memory_mb(hash_mb: int = EngineSettings.hash_mb) -> int:
    """Resident memory of one engine process in MB (the estimate :mod:`minitranscend.workers`
    sizes pools with): ~120 MB for the binary and its network, plus the hash table."""
    return ENGINE_BASE_MB + hash_mb


# python-chess runs each engine's event loop on a *non-daemon* thread, and the interpreter joins
# those threads before it runs atexit/weakref finalizers: a program (or worker process) that exits
# with an open Engine would hang forever. Close every live engine at threading shutdown instead.
_LIVE_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def _close_live_engines() -> None:
    for eng in list(_LIVE_ENGINES):
        eng.close()


if hasattr(threading, "_register_atexit"):  # CPython >= 3.9
    threading._register_atexit(_close_live_engines)


def _quietly_close(engine: chess.engine.SimpleEngine) -> None:
    try:
        engine.quit()
    except Exception:  # the process may already be gone; closing must never raise
        try:
            engine.close()
        except Exception:
            pass
