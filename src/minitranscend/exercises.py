"""Checkers for the book's exercises: each returns (ok: bool, message: str) and says what is wrong.

One delimited block per chapter; a checker never raises on a wrong answer, it explains it.
"""
from __future__ import annotations

import numpy as np


def _number(value: object) -> float | None:
    """``value`` as a float, or None when it is not a number (the checker then says so)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

# --- chapter 1: toy world ---


def check_toy_reward(value: float) -> tuple[bool, str]:
    """Exercise 1.1: r(tau = 0.5) of the one-state mixture (0.4, 0.2, 0.2, 0.2), action 0 right."""
    from .toy import single_state_reward

    want = single_state_reward([0.4, 0.2, 0.2, 0.2], 0.5)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-3:
        return True, f"right: r(0.5) = 0.16 / (0.16 + 3 * 0.04) = {want:.4f}"
    if abs(got - 0.4) < 1e-3:
        return False, "0.4 is r(1), the mixture itself; square every probability, then renormalise"
    return False, (f"{got:.4f} is not it: at tau = 0.5 each probability is raised to 1/tau = 2 "
                   "and the result renormalised; r is the share of action 0")


def check_majority_vote(fn) -> tuple[bool, str]:
    """Exercise 1.2: ``fn(experts, rewards)`` returns the reward of the mixture's argmax."""
    from .toy import majority_vote_reward, mixture

    rng = np.random.default_rng(11)
    for case in range(20):
        k, s, a = rng.integers(1, 6), rng.integers(1, 30), rng.integers(2, 7)
        experts = rng.dirichlet(np.ones(a), size=(k, s))
        rewards = rng.random((s, a))
        want = majority_vote_reward(mixture(experts), rewards)
        try:
            out = fn(experts, rewards)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"case {case} ({k} expert(s), {s} states, {a} actions) raised {e!r}"
        got = _number(out)
        if got is None:
            return False, f"your function returned {out!r}; it should return the reward, a number"
        if not abs(got - want) < 1e-9:
            return False, (f"case {case} ({k} expert(s), {s} states, {a} actions): got {got:.6f}, "
                           f"expected {want:.6f}. Average the experts first (axis 0), then take "
                           "the argmax per state, then average the rewards over states")
    return True, "right on 20 random cases"


def check_identical_threshold(p: float) -> tuple[bool, str]:
    """Exercise 1.3: accuracy above which identical experts (one shared mistake) transcend."""
    try:
        got = float(p)
    except (TypeError, ValueError):
        return False, f"expected a number, got {p!r}"
    if abs(got - 0.5) < 0.01:
        return True, ("right: the mixture puts p on the right action and 1 - p on the shared "
                      "mistake, so the argmax is right exactly when p > 1/2")
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


def check_uci_to_san(fn) -> tuple[bool, str]:
    """Exercise 2.1: ``fn(uci_moves)`` returns the moves of a game in SAN, as python-chess writes it."""
    import chess

    games = _uci_to_san_cases()
    for k, uci in enumerate(games):
        board, want = chess.Board(), []
        for u in uci:
            want.append(board.san_and_push(chess.Move.from_uci(u)))
        try:
            got = fn(list(uci))
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"game {k} ({len(uci)} plies) raised {e!r}"
        if got is None:
            return False, "your function returned None; return the list of SAN strings"
        got = list(got)
        if len(got) != len(want):
            return False, f"game {k}: expected {len(want)} moves, got {len(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                hint = ""
                if str(g).rstrip("+#") == w.rstrip("+#"):
                    hint = " (check '+' and mate '#' belong to the SAN: take board.san(move))"
                elif g == uci[i]:
                    hint = " (that is the UCI spelling: convert it with board.san(move))"
                return False, f"game {k}, ply {i + 1}: expected {w!r}, got {g!r}{hint}"
    return True, f"right on {len(games)} games"


def _paper_keeps(headers: dict, cap: int) -> bool:
    if headers.get("Result") not in ("1-0", "0-1", "1/2-1/2"):
        return False
    elos = [headers.get("WhiteElo"), headers.get("BlackElo")]
    if not all(e is not None and e.strip().isdigit() for e in elos):
        return False
    return max(int(e) for e in elos) <= cap


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


def check_rating_filter(fn) -> tuple[bool, str]:
    """Exercise 2.2: ``fn(headers, cap)`` is True when the paper keeps the game."""
    for headers, cap, what in _FILTER_CASES:
        want = _paper_keeps(headers, cap)
        try:
            got = fn(dict(headers), cap)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"{what} {headers} raised {e!r}; a missing or odd header should give False"
        if got is None:
            return False, "your function returned None; return True (keep) or False (drop)"
        if bool(got) != want:
            return False, (f"{what}, cap {cap}: {headers} should be "
                           f"{'kept' if want else 'dropped'}, your function "
                           f"{'keeps' if got else 'drops'} it")
    return True, f"right on {len(_FILTER_CASES)} cases"


def check_state_entropy(value: float) -> tuple[bool, str]:
    """Exercise 2.3: normalized entropy of the next-move counts (6, 2, 2)."""
    import math

    from .data.stats import normalized_entropy

    want = normalized_entropy([6, 2, 2])
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    h = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))
    if abs(got - want) < 1e-3:
        return True, f"right: H / log 3 = {h:.3f} / {math.log(3):.3f} = {want:.3f}"
    if abs(got - h) < 1e-3 or abs(got - h / math.log(2)) < 1e-3:
        return False, f"{got:.3f} is the entropy itself; divide it by the log of the number of moves seen (3)"
    if abs(got - h / math.log(20)) < 1e-3:
        return False, "normalize by the moves *seen* in the state (3), not by all legal moves"
    return False, (f"{got:.3f} is not it: the frequencies are (0.6, 0.2, 0.2); take "
                   "H = -sum p log p and divide by log 3")

# --- end chapter 2: chess data ---


# --- chapter 3: tokenizers ---


def check_token_counts(n_chars: int, n_move_tokens: int) -> tuple[bool, str]:
    """Exercise 3.1: characters of ``;1.e4 e5 2.Nf3 Nc6 3.Bb5`` and move tokens of the same opening."""
    from .tokenizers import CharTokenizer, MoveTokenizer

    moves = ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5"]
    want_c = len(CharTokenizer().encode_game(moves))
    want_m = len(MoveTokenizer().encode_game(moves))
    try:
        c, m = int(n_chars), int(n_move_tokens)
    except (TypeError, ValueError):
        return False, f"expected two whole numbers, got {n_chars!r} and {n_move_tokens!r}"
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


def check_prefix_text(fn) -> tuple[bool, str]:
    """Exercise 3.2: ``fn(uci_moves)`` is the text a character model reads before the next move."""
    import chess

    from .tokenizers import CharTokenizer

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
        if got != want:
            hint = ""
            if isinstance(got, str) and got.rstrip() == want.rstrip():
                hint = " (look at the trailing space: a black move follows one space)"
            elif isinstance(got, str) and got.replace(". ", ".") == want:
                hint = " (no space after the move number)"
            return False, f"after {len(uci)} plies: expected {want!r}, got {got!r}{hint}"
    return True, f"right on {len(cases)} positions"


def check_masked_argmax(fn) -> tuple[bool, str]:
    """Exercise 3.3: ``fn(logits, board)`` returns the legal move with the highest logit."""
    import chess

    from .tokenizers import MoveTokenizer

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
        if isinstance(got, (int, np.integer)):
            return False, "return a chess.Move (tok.decode_move(token_id)), not a token id"
        if isinstance(got, str):
            got = chess.Move.from_uci(got) if len(got) in (4, 5) else got
        if not isinstance(got, chess.Move):
            return False, f"position {k}: return a chess.Move, got {got!r}"
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


def check_expert_reward(value: float) -> tuple[bool, str]:
    """Exercise 6.1: r(s) of an expert that plays Nf3 (the engine move) with probability 1 - eps
    and a uniformly random legal move with probability eps."""
    from .evaluation.reward import policy_reward

    k = len(EX6_MOVE_SCORES)
    dist = {m: EX6_EPS / k + (1 - EX6_EPS) * (m == "Nf3") for m in EX6_MOVE_SCORES}
    want = policy_reward(dist, EX6_MOVE_SCORES)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
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


def check_elo_from_score(value: float) -> tuple[bool, str]:
    """Exercise 6.2: the Elo rating implied by 7.5/10 against one opponent rated 1200."""
    import math

    want = 1200 + 400 * math.log10(0.75 / 0.25)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
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


def check_game_score(fn) -> tuple[bool, str]:
    """Exercise 6.3: ``fn(board, color)`` = the finished game's score for ``color`` (1, 0.5, 0),
    stalemate a draw, as FIDE rules say and the paper's harness did not."""
    import chess

    for label, board in _ex6_positions():
        outcome = board.outcome(claim_draw=True)
        for color in (chess.WHITE, chess.BLACK):
            want = 0.5 if outcome.winner is None else float(outcome.winner == color)
            try:
                value = fn(board.copy(), color)
                if value is None:
                    return False, (f"{label}: your function returned None; return 1, 0.5 or 0 "
                                   f"for {chess.COLOR_NAMES[color]}")
                got = float(value)
            except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
                hint = (" (board.outcome() is None until a draw is claimed: pass claim_draw=True)"
                        if "repetition" in label else "")
                return False, f"{label}, score for {chess.COLOR_NAMES[color]}: raised {e!r}{hint}"
            if got != want:
                hint = ""
                if "stalemate" in label:
                    hint = (": scoring stalemate as a win/loss is the paper's harness's mistake; "
                            "a stalemated player draws")
                elif "repetition" in label:
                    hint = ": use board.outcome(claim_draw=True) so that claimable draws count"
                return False, (f"{label}, score for {chess.COLOR_NAMES[color]}: got {got}, "
                               f"expected {want}{hint}")
    return True, "right on every ending: mate, stalemate (a draw), insufficient material, repetition"

# --- end chapter 6: evaluation ---


# --- chapter 8: taxonomy ---


def check_answer_probability(fn) -> tuple[bool, str]:
    """Exercise 8.1: ``fn(counts, truth, tau)`` = P(sampling the truth) from the count learner.

    ``counts`` are the votes for each candidate answer, ``tau = 0`` means greedy with ties split."""
    from .kg.learners import tempered_truth_probability

    rng = np.random.default_rng(8)
    cases = [(np.array([3.0, 1.0, 0.0]), 0, 1.0), (np.array([2.0, 2.0, 1.0]), 1, 0.0),
             (np.array([1.0, 4.0, 0.0, 2.0]), 0, 0.0), (np.array([0.0, 5.0, 1.0]), 0, 0.5)]
    cases += [(rng.integers(0, 6, size=5).astype(float) + np.eye(5)[0], int(rng.integers(5)),
               float(rng.choice([0.0, 0.3, 1.0, 2.0]))) for _ in range(20)]
    for counts, truth, tau in cases:
        with np.errstate(divide="ignore"):
            want = float(tempered_truth_probability(np.log(counts)[None, :], np.array([truth]), tau)[0])
        try:
            got = float(fn(counts.copy(), truth, tau))
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"counts={counts.tolist()}, truth={truth}, tau={tau} raised {e!r}"
        if not abs(got - want) < 1e-6:
            hint = ("at tau = 0 return 1/(number of tied maxima) if the truth is one of them, else 0"
                    if tau == 0 else "raise the counts to the power 1/tau, then normalise")
            return False, (f"counts={counts.tolist()}, truth={truth}, tau={tau}: got {got:.4f}, "
                           f"expected {want:.4f}; {hint}")
    return True, f"right on {len(cases)} cases"


def check_selection_gain(value: float) -> tuple[bool, str]:
    """Exercise 8.2: the tau = 1 gain of two experts over the better one (r and g given in the text)."""
    from .kg.experiments import selection_condition

    r_a, r_b = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    g_a = np.array([0.8, 0.8, 0.3, 0.3])
    want = float(np.mean(g_a * r_a + (1 - g_a) * r_b) - max(r_a.mean(), r_b.mean()))
    cond = selection_condition(r_a, r_b, g_a, 1 - g_a)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-6:
        return True, f"right: 0.75 - 0.5 = {want:.2f}, which is the condition {cond:.2f} divided by 2"
    if abs(got - cond) < 1e-6:
        return False, f"{cond:.2f} is the condition itself; the gain is half of it here (why?)"
    if abs(got - 0.75) < 1e-6:
        return False, "0.75 is the mixture's accuracy; subtract the better expert's accuracy (0.5)"
    return False, ("not it: on each fact the tau = 1 mixture is right with probability "
                   "g_a r_a + g_b r_b; average over the four facts, then subtract 0.5")


def check_correlated_denoising(value: float) -> tuple[bool, str]:
    """Exercise 8.3: greedy count-learner accuracy of 50 experts, coverage 0.2, correlation 0.5."""
    from .kg import ExpertConfig, count_learner_for, generate_graph, make_experts

    graph = generate_graph()
    truth = np.array([f.tail for f in graph.facts])
    pool = make_experts(graph, ExpertConfig(n_experts=50, coverage=0.2, correlation=0.5, seed=0))
    want = count_learner_for(pool).accuracy(truth, 0)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-6:
        return True, (f"right: {want:.3f}. Half of the 40 wrong votes go to one shared decoy, which "
                      "outvotes the 10 right ones: correlated errors defeat the majority vote")
    return False, (f"{got:.3f} is not it; build ExpertConfig(n_experts=50, coverage=0.2, "
                   "correlation=0.5, seed=0) on generate_graph() and take the count learner's "
                   "accuracy at tau = 0")

# --- end chapter 8: taxonomy ---


# --- chapter 4: training ---


def check_block_params(n: int) -> tuple[bool, str]:
    """Exercise 4.1: parameters of one bias-free block of ChessFormer-50M (d = 512)."""
    d = 512
    want = 12 * d * d + 2 * d
    try:
        got = int(n)
    except (TypeError, ValueError):
        return False, f"expected a whole number, got {n!r}"
    if got == want:
        return True, f"right: 4d^2 (attention) + 8d^2 (MLP) + 2d (LayerNorm gains) = {want:,}"
    if got == 12 * d * d:
        return False, "almost: you forgot the two LayerNorm gain vectors (d numbers each)"
    if got == 12 * d * d + 4 * d:
        return False, "our LayerNorms have no bias (bias=False): only a gain vector each"
    return False, (f"{got:,} is not it: count c_attn (d x 3d), c_proj (d x d), the MLP's "
                   "d x 4d and 4d x d, and two LayerNorm gains of d numbers")


def check_illegal_mass(fn) -> tuple[bool, str]:
    """Exercise 4.2: ``fn(logits, legal_ids)`` = softmax mass outside ``legal_ids``."""
    rng = np.random.default_rng(4)
    for case in range(20):
        n = int(rng.integers(2, 2000))
        logits = rng.normal(0, 3, n) + (1000.0 if case == 0 else 0.0)  # case 0: huge logits
        legal = rng.choice(n, size=int(rng.integers(1, n)), replace=False)
        z = logits - logits.max()
        p = np.exp(z) / np.exp(z).sum()
        want = 1.0 - p[legal].sum()
        try:
            got = float(fn(logits.copy(), legal.copy()))
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"case {case} ({n} logits, {len(legal)} legal) raised {e!r}"
        if not np.isfinite(got):
            return False, (f"case {case} gave {got}: subtract logits.max() before np.exp "
                           "to avoid overflow")
        if abs(got - p[legal].sum()) < 1e-9 and abs(got - want) > 1e-9:
            return False, "that is the LEGAL mass; the illegal mass is one minus it"
        if abs(got - want) > 1e-9:
            return False, (f"case {case}: got {got:.6f}, expected {want:.6f}; take the softmax "
                           "over ALL logits, then sum the ids that are not legal")
    return True, "right on 20 random cases (including very large logits)"


def check_warmup_lr(value: float) -> tuple[bool, str]:
    """Exercise 4.3: learning rate at step 10 of a 20-step warm-up to 1e-3."""
    from .train import TrainConfig, learning_rate

    want = learning_rate(TrainConfig(lr=1e-3, warmup_iters=20, max_iters=1000), 10)
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-7:
        return True, f"right: 1e-3 * 11 / 21 = {want:.3e}"
    if abs(got - 5e-4) < 1e-7:
        return False, "close: the formula is (i + 1) / (w + 1), not i / w"
    return False, f"{got:.3e} is not it: lr(i) = lr_max * (i + 1) / (w + 1) with i = 10, w = 20"

# --- end chapter 4: training ---


# --- chapter 5: sampling ---


def check_tempered_prob(value: float) -> tuple[bool, str]:
    """Exercise 5.1: top move's probability of (0.5, 0.3, 0.2) at move-level tau = 0.5."""
    from .policy import apply_temperature

    want = float(apply_temperature([0.5, 0.3, 0.2], 0.5)[0])
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-3:
        return True, f"right: 0.25 / (0.25 + 0.09 + 0.04) = {want:.4f}"
    if abs(got - 0.5) < 1e-3:
        return False, "0.5 is the probability at tau = 1; raise each probability to 1/tau = 2"
    if abs(got - 0.25) < 1e-3:
        return False, "0.25 = 0.5^2 is not normalised: divide by the sum of all squared probabilities"
    return False, f"{got:.4f} is not it: square (1/tau = 2) every probability, then renormalise"


def check_temperature_fn(fn) -> tuple[bool, str]:
    """Exercise 5.2: ``fn(probs, tau)`` = move-level temperature, stable down to tau = 0.001."""
    from .policy import apply_temperature

    rng = np.random.default_rng(5)
    cases = [(np.array([0.5, 0.3, 0.2]), 1.0), (np.array([0.2, 1e-5, 0.7999]), 0.001)]
    cases += [(rng.dirichlet(np.ones(int(rng.integers(2, 40)))), float(t))
              for t in rng.choice([0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0], 20)]
    for i, (p, tau) in enumerate(cases):
        want = apply_temperature(p, tau)
        try:
            got = np.asarray(fn(p.copy(), tau), dtype=np.float64)
        except Exception as e:  # noqa: BLE001 - report any failure of the reader's code
            return False, f"case {i} (tau = {tau}) raised {e!r}"
        if got.shape != want.shape:
            return False, f"case {i}: expected {want.shape[0]} probabilities, got shape {got.shape}"
        if not np.isfinite(got).all():
            return False, (f"case {i} (tau = {tau}) gave nan/inf: p ** (1 / tau) underflows; "
                           "work with log(p) / tau and subtract its maximum before exp")
        if not np.allclose(got, want, atol=1e-9):
            return False, (f"case {i} (tau = {tau}): got {np.round(got[:4], 4)}..., expected "
                           f"{np.round(want[:4], 4)}...; raise to 1/tau and renormalise")
    return True, f"right on {len(cases)} cases, tau from 0.001 to 10"


def check_char_greedy(value: float) -> tuple[bool, str]:
    """Exercise 5.3: P(e4) under per-character greedy decoding of {e4: .4, Nf3: .3, Nc3: .3}."""
    try:
        got = float(value)
    except (TypeError, ValueError):
        return False, f"expected a probability, got {value!r}"
    if abs(got) < 1e-9:
        return True, ("right: the first character is 'N' with probability 0.6 against 'e' with "
                      "0.4, so greedy decoding never starts e4, the most likely move")
    if abs(got - 1.0) < 1e-9:
        return False, ("that is move-level tau -> 0 (the argmax move); per-character decoding "
                       "chooses the first character first: which is more likely, 'e' or 'N'?")
    return False, (f"{got:g} is not it: at tau -> 0 every character is the argmax of its own "
                   "softmax; compare P(first char = 'e') with P(first char = 'N')")

# --- end chapter 5: sampling ---


# --- chapter 7: why it works ---


def check_mixture_vote(value: float, dataset: str = "A", move: str = "engine") -> tuple[bool, str]:
    """Exercise 7.1: the mixture's probability of the ``"engine"`` move or of the queen ``"habit"``
    move, for dataset A's four experts (habits B, R, Q, P) or B's (all Q): 20 legal moves,
    eps = 0.3, habit_rate = 0.6, every habit applies and every habit move differs from the
    engine move and from each other."""
    eps, rate, n_legal, n_experts = 0.3, 0.6, 20, 4
    slip = eps / n_legal
    want = {("A", "engine"): (1 - eps) * (1 - rate) + slip,
            ("B", "engine"): (1 - eps) * (1 - rate) + slip,
            ("A", "habit"): (1 - eps) * rate / n_experts + slip,
            ("B", "habit"): (1 - eps) * rate + slip}.get((dataset, move))
    if want is None:
        return False, f"dataset must be 'A' or 'B' and move 'engine' or 'habit', got {dataset!r}, {move!r}"
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if abs(got - want) < 1e-3:
        return True, f"right: {want:.4f}"
    if abs(got - (want - slip)) < 1e-3:
        return False, "close: every expert also plays this move by accident, with probability eps/20"
    if move == "habit" and dataset == "A" and abs(got - ((1 - eps) * rate + slip)) < 1e-3:
        return False, "that is the queen-pusher alone; the mixture averages all four experts"
    return False, (f"{got:.4f} is not it: average the four experts' probabilities; an expert plays "
                   "a move with eps/20 by accident, plus (1 - eps) * habit_rate if it is its habit "
                   "move, plus (1 - eps) * (1 - habit_rate) if it is the engine move")


def check_gain_share(value: float, gains, top: float = 0.1) -> tuple[bool, str]:
    """Exercise 7.2: the share of the total low-temperature gain carried by the ``top`` fraction of
    states with the largest gains (``gains`` = per-state r_tau(s) - r_1(s))."""
    from .evaluation.reward import gain_concentration

    want = gain_concentration(gains, top=(top,))[top]
    got = _number(value)
    if got is None:
        return False, f"expected a number, got {value!r}"
    if np.isnan(want):
        return (bool(np.isnan(got)),
                "the total gain is not positive here, so the share is undefined (NaN)")
    if abs(got - want) < 1e-6:
        return True, f"right: the top {top:.0%} of states carry {want:.1%} of the gain"
    return False, (f"{got:.4f} is not it: sort the gains from largest to smallest, sum the first "
                   f"round({top} * n) of them (at least one) and divide by the sum of all gains")


# --- end chapter 7: why it works ---
