"""Checkers for the book's exercises: each returns (ok: bool, message: str) and says what is wrong.

One delimited block per chapter. A checker never raises, whatever a student passes: it first
validates the answer explicitly (the shared helpers below: an untouched ``None``, a wrong type,
NaN or infinity each get a plain message saying what was expected), reports an exception of the
student's own function together with the case that failed, and as a last resort the ``@_checker``
decorator turns any unexpected error into ``(False, "could not check your answer: ...")`` so that a
classroom notebook never shows a traceback.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable

import numpy as np

Result = tuple[bool, str]


# --- shared validation ---


def _short(text: str, limit: int = 160) -> str:
    """``text`` cut to ``limit`` characters: a message must stay readable in a notebook cell."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: object) -> str:
    """What a student passed, in words ("a numpy array of shape (2,)", "the text 'zzzz'")."""
    if value is None:
        return "None"
    if value is Ellipsis:
        return "`...` (the exercise's placeholder: replace it with your code)"
    if isinstance(value, (bool, np.bool_)):
        return f"{bool(value)} (a True/False value)"
    if isinstance(value, np.ndarray):
        return "an empty numpy array" if value.size == 0 else f"a numpy array of shape {value.shape}"
    if isinstance(value, str):
        return "an empty string" if not value else f"the text {_short(repr(value), 40)}"
    if isinstance(value, (list, tuple, dict, set)):
        kind = type(value).__name__
        return f"an empty {kind}" if not value else f"a {kind} of {len(value)} item(s)"
    if callable(value):
        return f"a function ({getattr(value, '__name__', type(value).__name__)})"
    if isinstance(value, numbers.Number):
        return f"the number {value!r}"
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def _real(value: object, *, allow_bool: bool = False) -> float | None:
    """``value`` as a float when it is one real number, else None.

    Python and numpy numbers, one-element arrays, 0-d tensors and numeric text count; a bool
    only with ``allow_bool`` (a function may return numpy's True for 1, a typed answer may not)."""
    if value is None or callable(value) or isinstance(value, (list, tuple, dict, set)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return float(value) if allow_bool else None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "iuf":
            return None
        return float(value.reshape(-1)[0])
    if isinstance(value, numbers.Real):
        return float(value)
    try:  # a 0-d torch tensor, a Decimal
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _as_number(value: object, expected: str, *, whole: bool = False) -> tuple[float | None, str]:
    """(x, "") when a typed answer is one finite number, else (None, what is wrong).

    ``expected`` names the answer, e.g. "your r(0.5), a number": it completes both
    "replace None with ..." and "expected ..."."""
    if value is None:
        return None, f"you have not answered yet: replace None with {expected}"
    got = _real(value)
    if got is None:
        return None, f"expected {expected}, got {_describe(value)}"
    if math.isnan(got):
        return None, (f"got NaN ('not a number'), expected {expected}: look for a 0/0, a log of 0 "
                      "or a missing value in your computation")
    if math.isinf(got):
        return None, f"got infinity, expected {expected}: look for a division by zero"
    if whole and not got.is_integer():
        return None, f"expected {expected}, got {got}, which is not a whole number"
    return got, ""


def _returned_none(expected: str) -> str:
    """The message for a function that returned None: usually the untouched ``...`` stub."""
    return (f"your function returned None (is its body still `...`, or is a `return` missing?); "
            f"return {expected}")


def _returned_number(out: object, expected: str, *, finite: bool = True) -> tuple[float | None, str]:
    """(x, "") when a student's function returned one number, else (None, what is wrong).

    With ``finite=False`` NaN and infinity come back as numbers, for checkers with a targeted hint."""
    if out is None:
        return None, _returned_none(expected)
    got = _real(out, allow_bool=True)
    if got is None:
        return None, f"your function returned {_describe(out)}; return {expected}"
    if finite and not math.isfinite(got):
        return None, f"your function returned {got}; return {expected}"
    return got, ""


def _function_problem(fn: object, signature: str) -> str | None:
    """What is wrong when ``fn`` cannot be called as ``signature`` (e.g. "my_keep(headers, cap)"),
    or None when it can; checked before the first case so that the message names the real problem."""
    if fn is None:
        return f"you have not answered yet: replace None with your function `{signature}`"
    if not callable(fn):
        return f"expected a function `{signature}`, got {_describe(fn)}"
    inside = signature[signature.index("(") + 1: signature.rindex(")")]
    n_args = len([a for a in inside.split(",") if a.strip()])
    try:
        inspect.signature(fn).bind(*range(n_args))
    except TypeError:
        return (f"your function takes {inspect.signature(fn)}, but the checker calls it as "
                f"`{signature}`: it should take {n_args} argument(s)")
    except ValueError:  # no signature to read (some builtins): calling it will tell
        pass
    return None


def _probability_problem(got: float, what: str = "a probability") -> str | None:
    """A message when ``got`` is outside [0, 1], for answers that are probabilities or accuracies."""
    if not 0.0 <= got <= 1.0:
        return f"{got:g} cannot be right: {what} is between 0 and 1"
    return None


def _checker(expects: str) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Decorate a public checker so that it can never raise in a student's notebook.

    Every checker validates its input itself; this is the last resort for what nobody foresaw:
    any exception becomes ``(False, "could not check your answer: <type>: <msg> — expected ...")``
    and the result is normalised to ``(bool, str)``. ``expects`` says what a right answer looks
    like; it is also kept on the checker as ``.expects``."""
    def decorate(check: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(check)
        def safe(*args: object, **kwargs: object) -> Result:
            try:
                ok, message = check(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - a checker must never raise in a notebook
                return False, (f"could not check your answer: {type(e).__name__}: "
                               f"{_short(str(e))} — expected {expects}")
            return bool(ok), str(message)

        safe.expects = expects  # type: ignore[attr-defined]
        return safe
    return decorate

# --- end shared validation ---


# --- chapter 1: toy world ---


@_checker("r(0.5), a number between 0 and 1")
def check_toy_reward(value: float) -> Result:
    """Exercise 1.1: r(tau = 0.5) of the one-state mixture (0.4, 0.2, 0.2, 0.2), action 0 right."""
    from .toy import single_state_reward

    got, problem = _as_number(value, "your r(0.5), a number")
    if got is None:
        return False, problem
    want = single_state_reward([0.4, 0.2, 0.2, 0.2], 0.5)
    if abs(got - want) < 1e-3:
        return True, f"right: r(0.5) = 0.16 / (0.16 + 3 * 0.04) = {want:.4f}"
    if abs(got - 0.4) < 1e-3:
        return False, "0.4 is r(1), the mixture itself; square every probability, then renormalise"
    if abs(got - 0.16) < 1e-3:
        return False, "0.16 = 0.4^2 is not normalised: divide by the sum of all squared probabilities"
    return False, (_probability_problem(got, "a share") or
                   f"{got:.4f} is not it: at tau = 0.5 each probability is raised to 1/tau = 2 "
                   "and the result renormalised; r is the share of action 0")


@_checker("a function `my_majority_vote(experts, rewards)` that returns the mean reward, a number")
def check_majority_vote(fn) -> Result:
    """Exercise 1.2: ``fn(experts, rewards)`` returns the reward of the mixture's argmax."""
    from .toy import majority_vote_reward, mixture

    problem = _function_problem(fn, "my_majority_vote(experts, rewards)")
    if problem:
        return False, problem
    rng = np.random.default_rng(11)
    for case in range(20):
        k, s, a = rng.integers(1, 6), rng.integers(1, 30), rng.integers(2, 7)
        experts = rng.dirichlet(np.ones(a), size=(k, s))
        rewards = rng.random((s, a))
        want = majority_vote_reward(mixture(experts), rewards)
        where = f"case {case} ({k} expert(s), {s} states, {a} actions)"
        try:
            out = fn(experts, rewards)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"{where} raised {e!r}"
        got, problem = _returned_number(out, "the reward, a number")
        if got is None:
            return False, f"{where}: {problem}"
        if not abs(got - want) < 1e-9:
            return False, (f"{where}: got {got:.6f}, expected {want:.6f}. Average the experts "
                           "first (axis 0), then take the argmax per state, then average the "
                           "rewards over states")
    return True, "right on 20 random cases"


@_checker("the accuracy p, a number between 0 and 1")
def check_identical_threshold(p: float) -> Result:
    """Exercise 1.3: accuracy above which identical experts (one shared mistake) transcend."""
    got, problem = _as_number(p, "your p, a number between 0 and 1")
    if got is None:
        return False, problem
    if abs(got - 0.5) < 0.01:
        return True, ("right: the mixture puts p on the right action and 1 - p on the shared "
                      "mistake, so the argmax is right exactly when p > 1/2")
    problem = _probability_problem(got, "an accuracy p")
    if problem:
        return False, problem
    if got < 0.5:
        return False, (f"at p = {got:g} the shared mistake has mass {1 - got:g} > p: the argmax "
                       "is the mistake, reward 0")
    return False, f"at p = {got:g} it works, but it already works for smaller p; find the boundary"

# --- end chapter 1: toy world ---


# --- chapter 2: chess data ---


def _random_games(n_games: int, seed: int, max_plies: int = 200) -> list[list[str]]:
    """Random legal games (UCI), varied enough to contain checks, mates, castling, promotions."""
    import random

    import chess

    rng = random.Random(seed)
    games = []
    for _ in range(n_games):
        board = chess.Board()
        while not board.is_game_over() and len(board.move_stack) < max_plies:
            board.push(rng.choice(list(board.legal_moves)))
        games.append([m.uci() for m in board.move_stack])
    return games


# Fixed games with mate, castling both ways, a promotion and a disambiguated knight move, then
# random games (long, full of checks).
_SAN_GAMES = ("e4 e5 Qh5 Nc6 Bc4 Nf6 Qxf7#",
              "e4 e5 Nf3 Nc6 Bc4 Bc5 O-O Nf6 d3 O-O",
              "d4 d5 Nc3 Nc6 Bf4 Bf5 Qd2 Qd7 O-O-O O-O-O",
              "e4 d5 exd5 c6 dxc6 Qb6 cxb7 Bd7 bxa8=Q",
              "Nf3 Nf6 Nc3 Nc6 Nd4 Nd5 Ncb5")


def _uci_to_san_cases() -> list[list[str]]:
    import chess

    games = []
    for text in _SAN_GAMES:
        board = chess.Board()
        games.append([board.push_san(san).uci() for san in text.split()])
    return games + _random_games(15, seed=2)


@_checker("a function `my_uci_to_san(uci_moves)` that returns the moves in SAN, a list of str")
def check_uci_to_san(fn) -> Result:
    """Exercise 2.1: ``fn(uci_moves)`` returns the moves of a game in SAN, as python-chess writes it."""
    import chess

    problem = _function_problem(fn, "my_uci_to_san(uci_moves)")
    if problem:
        return False, problem
    games = _uci_to_san_cases()
    for k, uci in enumerate(games):
        board, want = chess.Board(), []
        for u in uci:
            want.append(board.san_and_push(chess.Move.from_uci(u)))
        try:
            got = fn(list(uci))
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            hint = (" (take board.san(move) before board.push(move): SAN describes the move in "
                    "the position it is played from)"
                    if isinstance(e, AssertionError) and "legal" in str(e) else "")
            return False, f"game {k} ({len(uci)} plies) raised {e!r}{hint}"
        if got is None:
            return False, "your function returned None; return the list of SAN strings"
        if isinstance(got, str) or not isinstance(got, (list, tuple, np.ndarray)):
            return False, (f"game {k}: your function returned {_describe(got)}; return a list "
                           "with one SAN string per move")
        got = list(got)
        if len(got) != len(want):
            return False, f"game {k}: expected {len(want)} moves, got {len(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            if not (isinstance(g, str) and g == w):
                hint = ""
                if str(g).rstrip("+#") == w.rstrip("+#"):
                    hint = " (check '+' and mate '#' belong to the SAN: take board.san(move))"
                elif g == uci[i]:
                    hint = " (that is the UCI spelling: convert it with board.san(move))"
                return False, f"game {k}, ply {i + 1}: expected {w!r}, got {g!r}{hint}"
    return True, f"right on {len(games)} games"


def _finished_ratings(headers: dict) -> list[int] | None:
    """Both players' ratings of a finished game, or None when the result or a rating is missing."""
    if headers.get("Result") not in ("1-0", "0-1", "1/2-1/2"):
        return None
    elos = [headers.get("WhiteElo"), headers.get("BlackElo")]
    if not all(e is not None and e.strip().isdigit() for e in elos):
        return None
    return [int(e) for e in elos]


def _paper_keeps(headers: dict, cap: int) -> bool:
    elos = _finished_ratings(headers)
    return elos is not None and max(elos) <= cap


def _only_weaker_within_cap(headers: dict, cap: int) -> bool:
    """Only the weaker player is within the cap: the game a filter on ``min`` keeps by mistake."""
    elos = _finished_ratings(headers)
    return elos is not None and min(elos) <= cap < max(elos)


_FILTER_CASES = [
    ({"Result": "1-0", "WhiteElo": "1200", "BlackElo": "1150"}, 1300, "both players below the cap"),
    ({"Result": "0-1", "WhiteElo": "1250", "BlackElo": "1300"}, 1300, "Black rated exactly at the cap"),
    ({"Result": "1/2-1/2", "WhiteElo": "1301", "BlackElo": "900"}, 1300, "White one point above the cap"),
    ({"Result": "1-0", "WhiteElo": "1000", "BlackElo": "1600"}, 1300, "Black above the cap"),
    ({"Result": "*", "WhiteElo": "1100", "BlackElo": "1100"}, 1300, "an unfinished game (result '*')"),
    ({"Result": "1/2-1/2", "WhiteElo": "1100", "BlackElo": "1000"}, 1000, "White above cap 1000"),
    ({"Result": "1/2-1/2", "WhiteElo": "990", "BlackElo": "1000"}, 1000, "a draw at cap 1000"),
    ({"Result": "1-0", "WhiteElo": "?", "BlackElo": "1100"}, 1300, "an unknown rating ('?')"),
    ({"Result": "0-1", "WhiteElo": "1100"}, 1300, "a missing BlackElo header"),
    ({"WhiteElo": "1100", "BlackElo": "1100"}, 1300, "a missing Result header"),
    ({"Result": "1-0", "WhiteElo": "1499", "BlackElo": "1500"}, 1500, "both at most cap 1500"),
]


@_checker("a function `my_keep(headers, cap)` that returns True (keep the game) or False (drop it)")
def check_rating_filter(fn) -> Result:
    """Exercise 2.2: ``fn(headers, cap)`` is True when the paper keeps the game."""
    problem = _function_problem(fn, "my_keep(headers, cap)")
    if problem:
        return False, problem
    for headers, cap, what in _FILTER_CASES:
        want = _paper_keeps(headers, cap)
        try:
            got = fn(dict(headers), cap)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"{what} {headers} raised {e!r}; a missing or odd header should give False"
        if got is None:
            return False, "your function returned None; return True (keep) or False (drop)"
        if not isinstance(got, (bool, np.bool_, int, np.integer)):
            return False, (f"{what}: your function returned {_describe(got)}; return True (keep) "
                           "or False (drop)")
        if bool(got) != want:
            hint = ""
            if got and _only_weaker_within_cap(headers, cap):
                hint = " (the cap applies to the higher of the two ratings: use max, not min)"
            return False, (f"{what}, cap {cap}: {headers} should be "
                           f"{'kept' if want else 'dropped'}, your function "
                           f"{'keeps' if got else 'drops'} it{hint}")
    return True, f"right on {len(_FILTER_CASES)} cases"


@_checker("the normalized entropy, a number between 0 and 1")
def check_state_entropy(value: float) -> Result:
    """Exercise 2.3: normalized entropy of the next-move counts (6, 2, 2)."""
    from .data.stats import normalized_entropy

    got, problem = _as_number(value, "your normalized entropy, a number between 0 and 1")
    if got is None:
        return False, problem
    want = normalized_entropy([6, 2, 2])
    h = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))
    if abs(got - want) < 1e-3:
        return True, f"right: H / log 3 = {h:.3f} / {math.log(3):.3f} = {want:.3f}"
    if abs(got - h) < 1e-3 or abs(got - h / math.log(2)) < 1e-3:
        return False, f"{got:.3f} is the entropy itself; divide it by the log of the number of moves seen (3)"
    if abs(got - h / math.log(20)) < 1e-3:
        return False, "normalize by the moves *seen* in the state (3), not by all legal moves"
    return False, (_probability_problem(got, "a normalized entropy") or
                   f"{got:.3f} is not it: the frequencies are (0.6, 0.2, 0.2); take "
                   "H = -sum p log p and divide by log 3")

# --- end chapter 2: chess data ---


# --- chapter 3: tokenizers ---


@_checker("two whole numbers: the number of characters and the number of move tokens")
def check_token_counts(n_chars: int, n_move_tokens: int) -> Result:
    """Exercise 3.1: characters of ``;1.e4 e5 2.Nf3 Nc6 3.Bb5`` and move tokens of the same opening."""
    from .tokenizers import CharTokenizer, MoveTokenizer

    if n_chars is None and n_move_tokens is None:
        return False, "you have not answered yet: replace the two Nones with your two counts"
    c, problem_c = _as_number(n_chars, "your number of characters, a whole number", whole=True)
    m, problem_m = _as_number(n_move_tokens, "your number of move tokens, a whole number", whole=True)
    if c is None or m is None:
        return False, "; ".join(p for p in (problem_c, problem_m) if p)
    c, m = int(c), int(m)
    moves = ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5"]
    want_c = len(CharTokenizer().encode_game(moves))
    want_m = len(MoveTokenizer().encode_game(moves))
    problems = []
    if c == want_c - 1:
        problems.append("characters: count the ';' that starts the game too")
    elif c == want_c + 1:
        problems.append("characters: there is no space after '3.Bb5' (and none after a move number)")
    elif c != want_c:
        problems.append(f"characters: {c} is not it; every character is a token, spaces and dots included")
    if m == want_m - 1:
        problems.append("move tokens: the game starts with a <bos> token")
    elif m != want_m:
        problems.append(f"move tokens: {m} is not it; one token per move (ply) plus <bos>")
    if problems:
        return False, "; ".join(problems)
    return True, (f"right: {want_c} characters against {want_m} move tokens, "
                  f"{want_c / want_m:.1f} times as many")


@_checker("a function `my_prefix(uci_moves)` that returns the prompt text, a str like ';1.e4 e5 2.'")
def check_prefix_text(fn) -> Result:
    """Exercise 3.2: ``fn(uci_moves)`` is the text a character model reads before the next move."""
    import chess

    from .tokenizers import CharTokenizer

    problem = _function_problem(fn, "my_prefix(uci_moves)")
    if problem:
        return False, problem
    cases = [[], ["e2e4"], ["e2e4", "e7e5"]] + [g[:n] for g, n in zip(
        _random_games(12, seed=3, max_plies=40), (1, 2, 5, 8, 9, 12, 17, 20, 25, 30, 33, 40))]
    for uci in cases:
        board = chess.Board()
        for u in uci:
            board.push_uci(u)
        want = CharTokenizer.prefix_text(board)
        try:
            got = fn(list(uci))
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"after {len(uci)} plies your function raised {e!r}"
        if got is None:
            return False, f"after {len(uci)} plies: {_returned_none('the text, a str')}"
        if not isinstance(got, str):
            return False, (f"after {len(uci)} plies: your function returned {_describe(got)}; "
                           f"return the text, a str such as {want!r}")
        if got != want:
            hint = ""
            if got.replace(". ", ".") == want:
                hint = " (no space after the move number)"
            elif got.rstrip() == want.rstrip():
                hint = " (look at the trailing space: a black move follows one space)"
            return False, f"after {len(uci)} plies: expected {want!r}, got {got!r}{hint}"
    return True, f"right on {len(cases)} positions"


@_checker("a function `my_masked_argmax(logits, board)` that returns the best legal move "
          "(a chess.Move)")
def check_masked_argmax(fn) -> Result:
    """Exercise 3.3: ``fn(logits, board)`` returns the legal move with the highest logit."""
    import chess

    from .tokenizers import MoveTokenizer

    problem = _function_problem(fn, "my_masked_argmax(logits, board)")
    if problem:
        return False, problem
    tok = MoveTokenizer()
    rng = np.random.default_rng(33)
    boards = []
    for uci in _random_games(10, seed=4, max_plies=60):
        board = chess.Board()
        for u in uci[: len(uci) // 2]:
            board.push_uci(u)
        if not board.is_game_over():
            boards.append(board)
    for k, board in enumerate(boards):
        logits = rng.normal(size=tok.vocab_size).astype(np.float32)
        legal = tok.legal_ids(board)
        illegal = np.setdiff1d(np.arange(2, tok.vocab_size), legal)
        logits[rng.choice(illegal)] = 50.0  # the unmasked argmax is an illegal move
        logits[:2] = 100.0  # and the specials beat everything
        want = tok.decode_move(legal[int(np.argmax(logits[legal]))])
        try:
            got = fn(logits.copy(), board.copy())
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"position {k} ({board.fen()}) raised {e!r}"
        if got is None:
            return False, f"position {k}: {_returned_none('a chess.Move')}"
        if isinstance(got, (int, np.integer)):
            return False, "return a chess.Move (tok.decode_move(token_id)), not a token id"
        if isinstance(got, str):
            try:
                got = chess.Move.from_uci(got)
            except ValueError:
                return False, (f"position {k}: your function returned {_describe(got)}, which is "
                               "not a move; return a chess.Move (tok.decode_move(token_id))")
        if not isinstance(got, chess.Move):
            return False, f"position {k}: return a chess.Move, got {_describe(got)}"
        if got != want:
            why = "it is not legal here" if got not in board.legal_moves else "a legal move scores higher"
            return False, (f"position {k} ({board.fen()}): expected {want.uci()}, got {got}: {why}. "
                           "Keep only the logits of tok.legal_ids(board), then take the argmax")
    return True, f"right on {len(boards)} positions, each with an illegal move scored highest"

# --- end chapter 3: tokenizers ---


# --- chapter 6: evaluation ---

# Exercise 6.1: the four legal moves of a position and the mover's expected score after each.
EX6_MOVE_SCORES = {"Nf3": 0.62, "d4": 0.55, "a3": 0.40, "Qh5": 0.10}
EX6_EPS = 0.2


@_checker("the expert's reward r(s), a number between 0 and 1")
def check_expert_reward(value: float) -> Result:
    """Exercise 6.1: r(s) of an expert that plays Nf3 (the engine move) with probability 1 - eps
    and a uniformly random legal move with probability eps."""
    from .evaluation.reward import policy_reward

    got, problem = _as_number(value, "your r(s), a number")
    if got is None:
        return False, problem
    k = len(EX6_MOVE_SCORES)
    dist = {m: EX6_EPS / k + (1 - EX6_EPS) * (m == "Nf3") for m in EX6_MOVE_SCORES}
    want = policy_reward(dist, EX6_MOVE_SCORES)
    if abs(got - want) < 1e-4:
        return True, (f"right: 0.8 * 0.62 + 0.2 * mean(0.62, 0.55, 0.40, 0.10) = {want:.4f}; the "
                      "random 20% costs the expert 0.62 - r = "
                      f"{EX6_MOVE_SCORES['Nf3'] - want:.4f} of expected score in this state")
    if abs(got - 0.62) < 1e-4:
        return False, "0.62 is the oracle's reward (always the best move); the expert errs 20% of the time"
    if abs(got - 0.8 * 0.62) < 1e-4:
        return False, ("0.496 counts only the engine move; the random 20% still earns the average "
                       "score of the legal moves (and can also hit Nf3)")
    if abs(got - sum(EX6_MOVE_SCORES.values()) / k) < 1e-4:
        return False, "that is the random player's reward; the expert plays Nf3 80% of the time"
    return False, (f"{got:.4f} is not it: p(Nf3) = 0.8 + 0.2/4, every other move 0.2/4; "
                   "r = sum of p(m) * score(m)")


@_checker("the rating R, a number (about 1200 plus something)")
def check_elo_from_score(value: float) -> Result:
    """Exercise 6.2: the Elo rating implied by 7.5/10 against one opponent rated 1200."""
    got, problem = _as_number(value, "your rating R, a number")
    if got is None:
        return False, problem
    want = 1200 + 400 * math.log10(0.75 / 0.25)
    if abs(got - want) < 0.5:
        return True, (f"right: 1200 + 400 log10(0.75 / 0.25) = {want:.1f}. But with 10 games the "
                      "95% bootstrap interval of the score is about 0.5 to 1.0 (7 wins, 1 draw, "
                      "2 losses): anything from +0 Elo to +infinity. One short match means little")
    if abs(got - (1200 + 400 * math.log(3))) < 0.5:
        return False, "that used the natural log; Elo uses log base 10 (a 400-point gap = odds 10:1)"
    if abs(got - (1200 - 400 * math.log10(3))) < 0.5:
        return False, "wrong sign: a score above 50% means a rating above the opponent's"
    return False, (f"{got:.1f} is not it: solve 0.75 = 1 / (1 + 10^((1200 - R) / 400)) for R")


def _ex6_positions():
    """(label, board) of finished games covering every way a game can end."""
    import chess

    cases = []
    b = chess.Board()
    for san in ("f3", "e5", "g4", "Qh4#"):
        b.push_san(san)
    cases.append(("fool's mate (black mates)", b))
    b = chess.Board()
    for san in ("e4", "e5", "Bc4", "Nc6", "Qh5", "Nf6", "Qxf7#"):
        b.push_san(san)
    cases.append(("scholar's mate (white mates)", b))
    cases.append(("stalemate, black to move", chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")))
    cases.append(("stalemate, white to move", chess.Board("8/8/8/8/8/6k1/5q2/7K w - - 0 1")))
    cases.append(("king against king", chess.Board("8/8/4k3/8/8/3K4/8/8 w - - 0 1")))
    b = chess.Board()
    for san in ("Nf3", "Nf6", "Ng1", "Ng8", "Nf3", "Nf6", "Ng1", "Ng8"):
        b.push_san(san)
    cases.append(("threefold repetition", b))
    return cases


@_checker("a function `my_score(board, color)` that returns 1, 0.5 or 0")
def check_game_score(fn) -> Result:
    """Exercise 6.3: ``fn(board, color)`` = the finished game's score for ``color`` (1, 0.5, 0),
    stalemate a draw, as FIDE rules say and the paper's harness did not."""
    import chess

    problem = _function_problem(fn, "my_score(board, color)")
    if problem:
        return False, problem
    for label, board in _ex6_positions():
        outcome = board.outcome(claim_draw=True)
        for color in (chess.WHITE, chess.BLACK):
            want = 0.5 if outcome.winner is None else float(outcome.winner == color)
            who = chess.COLOR_NAMES[color]
            try:
                value = fn(board.copy(), color)
            except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
                hint = (" (board.outcome() is None until a draw is claimed: pass claim_draw=True)"
                        if "repetition" in label else "")
                return False, f"{label}, score for {who}: raised {e!r}{hint}"
            if value is None:
                return False, f"{label}: your function returned None; return 1, 0.5 or 0 for {who}"
            got, problem = _returned_number(value, f"1, 0.5 or 0 for {who}")
            if got is None:
                return False, f"{label}: {problem}"
            if got != want:
                hint = ""
                if "stalemate" in label:
                    hint = (": scoring stalemate as a win/loss is the paper's harness's mistake; "
                            "a stalemated player draws")
                elif "repetition" in label:
                    hint = ": use board.outcome(claim_draw=True) so that claimable draws count"
                return False, (f"{label}, score for {who}: got {got}, expected {want}{hint}")
    return True, "right on every ending: mate, stalemate (a draw), insufficient material, repetition"

# --- end chapter 6: evaluation ---


# --- chapter 8: taxonomy ---


@_checker("a function `answer_probability(counts, truth, tau)` that returns a probability")
def check_answer_probability(fn) -> Result:
    """Exercise 8.1: ``fn(counts, truth, tau)`` = P(sampling the truth) from the count learner.

    ``counts`` are the votes for each candidate answer, ``tau = 0`` means greedy with ties split."""
    from .kg.learners import tempered_truth_probability

    problem = _function_problem(fn, "answer_probability(counts, truth, tau)")
    if problem:
        return False, problem
    rng = np.random.default_rng(8)
    cases = [(np.array([3.0, 1.0, 0.0]), 0, 1.0), (np.array([2.0, 2.0, 1.0]), 1, 0.0),
             (np.array([1.0, 4.0, 0.0, 2.0]), 0, 0.0), (np.array([0.0, 5.0, 1.0]), 0, 0.5)]
    cases += [(rng.integers(0, 6, size=5).astype(float) + np.eye(5)[0], int(rng.integers(5)),
               float(rng.choice([0.0, 0.3, 1.0, 2.0]))) for _ in range(20)]
    for counts, truth, tau in cases:
        with np.errstate(divide="ignore"):
            want = float(tempered_truth_probability(np.log(counts)[None, :], np.array([truth]), tau)[0])
        where = f"counts={counts.tolist()}, truth={truth}, tau={tau}"
        try:
            out = fn(counts.copy(), truth, tau)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            hint = ("; tau = 0 is greedy: handle it before dividing by tau"
                    if tau == 0 and isinstance(e, ZeroDivisionError) else "")
            return False, f"{where} raised {e!r}{hint}"
        got, problem = _returned_number(out, "the probability of the truth, a number")
        if got is None:
            return False, f"{where}: {problem}"
        if not abs(got - want) < 1e-6:
            hint = ("at tau = 0 return 1/(number of tied maxima) if the truth is one of them, else 0"
                    if tau == 0 else "raise the counts to the power 1/tau, then normalise")
            return False, (f"{where}: got {got:.4f}, expected {want:.4f}; {hint}")
    return True, f"right on {len(cases)} cases"


@_checker("the gain in accuracy, a number between -1 and 1")
def check_selection_gain(value: float) -> Result:
    """Exercise 8.2: the tau = 1 gain of two experts over the better one (r and g given in the text)."""
    from .kg.experiments import selection_condition

    got, problem = _as_number(value, "your gain, a number")
    if got is None:
        return False, problem
    r_a, r_b = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    g_a = np.array([0.8, 0.8, 0.3, 0.3])
    want = float(np.mean(g_a * r_a + (1 - g_a) * r_b) - max(r_a.mean(), r_b.mean()))
    cond = selection_condition(r_a, r_b, g_a, 1 - g_a)
    if abs(got - want) < 1e-6:
        return True, f"right: 0.75 - 0.5 = {want:.2f}, which is the condition {cond:.2f} divided by 2"
    if abs(got - cond) < 1e-6:
        return False, f"{cond:.2f} is the condition itself; the gain is half of it here (why?)"
    if abs(got - 0.75) < 1e-6:
        return False, "0.75 is the mixture's accuracy; subtract the better expert's accuracy (0.5)"
    return False, ("not it: on each fact the tau = 1 mixture is right with probability "
                   "g_a r_a + g_b r_b; average over the four facts, then subtract 0.5")


@_checker("the count learner's greedy accuracy, a number between 0 and 1")
def check_correlated_denoising(value: float) -> Result:
    """Exercise 8.3: greedy count-learner accuracy of 50 experts, coverage 0.2, correlation 0.5."""
    from .kg import ExpertPoolConfig, count_learner_for, generate_graph, make_experts

    got, problem = _as_number(value, "your accuracy, a number between 0 and 1")
    if got is None:
        return False, problem
    graph = generate_graph()
    truth = np.array([f.tail for f in graph.facts])

    def accuracy(correlation: float, tau: float) -> float:
        pool = make_experts(graph, ExpertPoolConfig(n_experts=50, coverage=0.2,
                                                    correlation=correlation, seed=0))
        return count_learner_for(pool).accuracy(truth, tau)

    want = accuracy(0.5, 0)
    if abs(got - want) < 1e-6:
        return True, (f"right: {want:.3f}. Half of the 40 wrong votes go to one shared decoy, which "
                      "outvotes the 10 right ones: correlated errors defeat the majority vote")
    if abs(got - accuracy(0.0, 0)) < 1e-6:
        return False, ("that is the accuracy with independent errors (correlation=0); the "
                       "exercise asks for correlation=0.5")
    if abs(got - accuracy(0.5, 1)) < 1e-6:
        return False, "that is the accuracy at tau = 1 (sampling); greedy means tau = 0"
    return False, (_probability_problem(got, "an accuracy") or
                   f"{got:.3f} is not it; build ExpertPoolConfig(n_experts=50, coverage=0.2, "
                   "correlation=0.5, seed=0) on generate_graph() and take the count learner's "
                   "accuracy at tau = 0")

# --- end chapter 8: taxonomy ---


# --- chapter 4: training ---


@_checker("the number of parameters of one block, a whole number")
def check_block_params(n: int) -> Result:
    """Exercise 4.1: parameters of one bias-free block of ChessFormer-50M (d = 512)."""
    got, problem = _as_number(n, "your number of parameters, a whole number", whole=True)
    if got is None:
        return False, problem
    got = int(got)
    d = 512
    want = 12 * d * d + 2 * d
    if got == want:
        return True, f"right: 4d^2 (attention) + 8d^2 (MLP) + 2d (LayerNorm gains) = {want:,}"
    if got == 12 * d * d:
        return False, "almost: you forgot the two LayerNorm gain vectors (d numbers each)"
    if got == 12 * d * d + 4 * d:
        return False, "our LayerNorms have no bias (bias=False): only a gain vector each"
    return False, (f"{got:,} is not it: count c_attn (d x 3d), c_proj (d x d), the MLP's "
                   "d x 4d and 4d x d, and two LayerNorm gains of d numbers")


@_checker("a function `my_illegal_mass(logits, legal_ids)` that returns a probability")
def check_illegal_mass(fn) -> Result:
    """Exercise 4.2: ``fn(logits, legal_ids)`` = softmax mass outside ``legal_ids``."""
    problem = _function_problem(fn, "my_illegal_mass(logits, legal_ids)")
    if problem:
        return False, problem
    rng = np.random.default_rng(4)
    for case in range(20):
        n = int(rng.integers(2, 2000))
        logits = rng.normal(0, 3, n) + (1000.0 if case == 0 else 0.0)  # case 0: huge logits
        legal = rng.choice(n, size=int(rng.integers(1, n)), replace=False)
        z = logits - logits.max()
        p = np.exp(z) / np.exp(z).sum()
        want = 1.0 - p[legal].sum()
        where = f"case {case} ({n} logits, {len(legal)} legal)"
        try:
            out = fn(logits.copy(), legal.copy())
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"{where} raised {e!r}"
        got, problem = _returned_number(out, "the illegal mass, a number", finite=False)
        if got is None:
            return False, f"{where}: {problem}"
        if not np.isfinite(got):
            return False, (f"case {case} gave {got}: subtract logits.max() before np.exp "
                           "to avoid overflow")
        if abs(got - p[legal].sum()) < 1e-9 and abs(got - want) > 1e-9:
            return False, "that is the LEGAL mass; the illegal mass is one minus it"
        if abs(got - want) > 1e-9:
            return False, (f"case {case}: got {got:.6f}, expected {want:.6f}; take the softmax "
                           "over ALL logits, then sum the ids that are not legal")
    return True, "right on 20 random cases (including very large logits)"


@_checker("the learning rate at step 10, a number (about 1e-4 to 1e-3)")
def check_warmup_lr(value: float) -> Result:
    """Exercise 4.3: learning rate at step 10 of a 20-step warm-up to 1e-3."""
    from .train import TrainConfig, learning_rate

    got, problem = _as_number(value, "your learning rate, a number")
    if got is None:
        return False, problem
    want = learning_rate(TrainConfig(lr=1e-3, warmup_iters=20, max_iters=1000), 10)
    if abs(got - want) < 1e-7:
        return True, f"right: 1e-3 * 11 / 21 = {want:.3e}"
    if abs(got - 5e-4) < 1e-7:
        return False, "close: the formula is (i + 1) / (w + 1), not i / w"
    return False, f"{got:.3e} is not it: lr(i) = lr_max * (i + 1) / (w + 1) with i = 10, w = 20"

# --- end chapter 4: training ---


# --- chapter 5: sampling ---


@_checker("the top move's probability, a number between 0 and 1")
def check_tempered_prob(value: float) -> Result:
    """Exercise 5.1: top move's probability of (0.5, 0.3, 0.2) at move-level tau = 0.5."""
    from .policy import apply_temperature

    got, problem = _as_number(value, "your probability, a number between 0 and 1")
    if got is None:
        return False, problem
    want = float(apply_temperature([0.5, 0.3, 0.2], 0.5)[0])
    if abs(got - want) < 1e-3:
        return True, f"right: 0.25 / (0.25 + 0.09 + 0.04) = {want:.4f}"
    if abs(got - 0.5) < 1e-3:
        return False, "0.5 is the probability at tau = 1; raise each probability to 1/tau = 2"
    if abs(got - 0.25) < 1e-3:
        return False, "0.25 = 0.5^2 is not normalised: divide by the sum of all squared probabilities"
    return False, (_probability_problem(got) or
                   f"{got:.4f} is not it: square (1/tau = 2) every probability, then renormalise")


@_checker("a function `my_temperature(probs, tau)` that returns the tempered probabilities, an array")
def check_temperature_fn(fn) -> Result:
    """Exercise 5.2: ``fn(probs, tau)`` = move-level temperature, stable down to tau = 0.001."""
    from .policy import apply_temperature

    problem = _function_problem(fn, "my_temperature(probs, tau)")
    if problem:
        return False, problem
    rng = np.random.default_rng(5)
    cases = [(np.array([0.5, 0.3, 0.2]), 1.0), (np.array([0.2, 1e-5, 0.7999]), 0.001)]
    cases += [(rng.dirichlet(np.ones(int(rng.integers(2, 40)))), float(t))
              for t in rng.choice([0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0], 20)]
    for i, (p, tau) in enumerate(cases):
        want = apply_temperature(p, tau)
        try:
            out = fn(p.copy(), tau)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"case {i} (tau = {tau}) raised {e!r}"
        if out is None:
            return False, f"case {i}: {_returned_none('the tempered probabilities, an array')}"
        try:
            got = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            return False, (f"case {i}: your function returned {_describe(out)}; return the "
                           "tempered probabilities, an array of numbers")
        if got.shape != want.shape:
            return False, f"case {i}: expected {want.shape[0]} probabilities, got shape {got.shape}"
        if not np.isfinite(got).all():
            return False, (f"case {i} (tau = {tau}) gave nan/inf: p ** (1 / tau) underflows; "
                           "work with log(p) / tau and subtract its maximum before exp")
        if not np.allclose(got, want, atol=1e-9):
            total = float(got.sum())
            hint = ("raise to 1/tau and renormalise" if abs(total - 1) < 1e-6 else
                    f"your probabilities sum to {total:.4g}, not 1: renormalise (divide by the sum)")
            return False, (f"case {i} (tau = {tau}): got {np.round(got[:4], 4)}..., expected "
                           f"{np.round(want[:4], 4)}...; {hint}")
    return True, f"right on {len(cases)} cases, tau from 0.001 to 10"


@_checker("the probability of e4, a number between 0 and 1")
def check_char_greedy(value: float) -> Result:
    """Exercise 5.3: P(e4) under per-character greedy decoding of {e4: .4, Nf3: .3, Nc3: .3}."""
    got, problem = _as_number(value, "your probability, a number between 0 and 1")
    if got is None:
        return False, problem
    if abs(got) < 1e-9:
        return True, ("right: the first character is 'N' with probability 0.6 against 'e' with "
                      "0.4, so greedy decoding never starts e4, the most likely move")
    if abs(got - 1.0) < 1e-9:
        return False, ("that is move-level tau -> 0 (the argmax move); per-character decoding "
                       "chooses the first character first: which is more likely, 'e' or 'N'?")
    return False, (_probability_problem(got) or
                   f"{got:g} is not it: at tau -> 0 every character is the argmax of its own "
                   "softmax; compare P(first char = 'e') with P(first char = 'N')")

# --- end chapter 5: sampling ---


# --- chapter 7: why it works ---


@_checker("the mixture's probability of the move, a number between 0 and 1 "
          "(with dataset 'A' or 'B' and move 'engine' or 'habit')")
def check_mixture_vote(value: float, dataset: str = "A", move: str = "engine") -> Result:
    """Exercise 7.1: the mixture's probability of the ``"engine"`` move or of the king ``"habit"``
    move, for dataset A's four experts (habits B, R, K, P) or B's (all K): 20 legal moves,
    eps = 0.3, habit_rate = 0.6, every habit applies and every habit move differs from the
    engine move and from each other."""
    eps, rate, n_legal, n_experts = 0.3, 0.6, 20, 4
    slip = eps / n_legal
    table = {("A", "engine"): (1 - eps) * (1 - rate) + slip,
             ("B", "engine"): (1 - eps) * (1 - rate) + slip,
             ("A", "habit"): (1 - eps) * rate / n_experts + slip,
             ("B", "habit"): (1 - eps) * rate + slip}
    key = (dataset, move) if isinstance(dataset, str) and isinstance(move, str) else None
    if key not in table:
        return False, f"dataset must be 'A' or 'B' and move 'engine' or 'habit', got {dataset!r}, {move!r}"
    want = table[key]
    got, problem = _as_number(value, f"your probability of the {move} move, a number")
    if got is None:
        return False, problem
    if abs(got - want) < 1e-3:
        return True, f"right: {want:.4f}"
    if abs(got - (want - slip)) < 1e-3:
        return False, "close: every expert also plays this move by accident, with probability eps/20"
    if move == "habit" and dataset == "A" and abs(got - ((1 - eps) * rate + slip)) < 1e-3:
        return False, "that is the king-marcher alone; the mixture averages all four experts"
    return False, (_probability_problem(got) or
                   f"{got:.4f} is not it: average the four experts' probabilities; an expert plays "
                   "a move with eps/20 by accident, plus (1 - eps) * habit_rate if it is its habit "
                   "move, plus (1 - eps) * (1 - habit_rate) if it is the engine move")


def _gains_problem(gains: object, top: object) -> str | None:
    """What is wrong with the extra arguments of :func:`check_gain_share`, or None."""
    if gains is None:
        return "gains is None: pass the array `gains` computed in the chapter"
    if callable(gains) or isinstance(gains, (str, dict, set)):
        return f"gains should be the array of per-state gains, got {_describe(gains)}"
    try:
        g = np.asarray(gains, dtype=float)
    except (TypeError, ValueError):
        return f"gains should be an array of numbers, got {_describe(gains)}"
    if g.ndim != 1 or g.size == 0:
        return f"gains should be a non-empty 1-D array of per-state gains, got {_describe(gains)}"
    if not np.isfinite(g).all():
        return "gains contains NaN or infinity: recompute it from the rewards table"
    t = _real(top)
    if t is None or not 0 < t <= 1:
        return f"top should be a fraction in (0, 1], such as 0.05, got {_describe(top)}"
    return None


@_checker("the share of the total gain, a number (with `gains` a 1-D array and 0 < top <= 1)")
def check_gain_share(value: float, gains, top: float = 0.1) -> Result:
    """Exercise 7.2: the share of the total low-temperature gain carried by the ``top`` fraction of
    states with the largest gains (``gains`` = per-state r_tau(s) - r_1(s))."""
    from .evaluation.reward import gain_concentration

    problem = _gains_problem(gains, top)
    if problem:
        return False, problem
    got, problem = _as_number(value, "your share of the gain, a number")
    if got is None:
        return False, problem
    g = np.asarray(gains, dtype=float)
    top = float(_real(top))  # type: ignore[arg-type]
    want = gain_concentration(g, top=(top,))[top]
    if np.isnan(want):
        # NaN is not an answer a student can give: the share itself is undefined here.
        return False, (f"cannot check: the total gain of these {g.size} states is {g.sum():.4f}, "
                       "not positive, so no share of it is defined; rerun the chapter with more "
                       "states (the full profile)")
    if abs(got - want) < 1e-6:
        return True, f"right: the top {top:.0%} of states carry {want:.1%} of the gain"
    k = max(1, int(round(top * g.size)))
    if abs(got - np.sort(g)[:k].sum() / g.sum()) < 1e-6:
        return False, ("those are the smallest gains: np.sort sorts in ascending order; "
                       "reverse it ([::-1]) to start from the largest")
    return False, (f"{got:.4f} is not it: sort the gains from largest to smallest, sum the first "
                   f"round({top} * n) of them (at least one) and divide by the sum of all gains")


# --- end chapter 7: why it works ---
