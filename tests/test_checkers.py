"""Every exercise checker is safe in a classroom: whatever a student passes (an untouched ``None``,
a wrong type, NaN, a stub function), it returns ``(False, message)`` instead of raising; it
rejects a typical wrong answer with its hint; and it accepts the book's solution.

The checkers are discovered with :mod:`inspect`, so a new ``check_*`` is covered automatically and
the tables below must be extended for it (a test fails until they are).
"""
from __future__ import annotations

import inspect
import math

import chess
import numpy as np
import pytest

from minitranscend import exercises as ex
from minitranscend.kg import ExpertPoolConfig, count_learner_for, generate_graph, make_experts
from minitranscend.tokenizers import MoveTokenizer
from test_exercises_ch2_ch3 import my_keep  # the chapter-2 tests' reference solution

CHECKERS = {name: fn for name, fn in inspect.getmembers(ex, inspect.isfunction)
            if name.startswith("check_") and fn.__module__ == ex.__name__}

# Valid extra arguments of the checkers that take more than the answer.
GAINS = np.array([0.30, 0.10, -0.05, 0.20, 0.0, 0.02, 0.15, -0.01, 0.05, 0.08,
                  0.01, 0.0, 0.12, -0.02, 0.04, 0.03, 0.0, 0.06, 0.07, 0.09])
EXTRA_ARGS: dict[str, tuple] = {
    "check_gain_share": (GAINS,),   # check_gain_share(value, gains)
    "check_token_counts": (6,),     # check_token_counts(n_chars, n_move_tokens)
}


def _required_extra(fn) -> list[str]:
    """Names of the required parameters after the answer (``inspect`` follows ``__wrapped__``)."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    return [p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _expects_function(name: str) -> bool:
    return CHECKERS[name].expects.startswith("a function")


def _raises(*args, **kwargs):
    raise RuntimeError("student bug")


BAD_ANSWERS = {
    "None": None, "int": 5, "text": "zzzz", "nan": float("nan"), "inf": float("inf"),
    "empty list": [], "array": np.array([1.0, 2.0]), "dict": {},
    "returns None": lambda *args, **kwargs: None, "raises": _raises,
    "ellipsis": ..., "returns ...": lambda *args, **kwargs: ...,
}


def test_checkers_are_discovered_and_all_wrapped():
    assert len(CHECKERS) >= 23
    for name, fn in CHECKERS.items():
        assert hasattr(fn, "__wrapped__"), f"{name} lacks the @_checker safety net"
        assert isinstance(fn.expects, str) and fn.expects


def test_extra_args_table_covers_every_checker_with_required_extra_args():
    need = {name for name, fn in CHECKERS.items() if _required_extra(fn)}
    assert need == set(EXTRA_ARGS)
    for name in need:
        assert len(EXTRA_ARGS[name]) == len(_required_extra(CHECKERS[name])), name


def _check(name: str, result) -> str:
    assert isinstance(result, tuple) and len(result) == 2, (name, result)
    ok, msg = result
    assert ok is False, (name, msg)
    assert isinstance(msg, str) and msg.strip(), name
    return msg


# -- (a) nothing a student passes makes a checker raise ------------------------------------------
@pytest.mark.parametrize("bad", list(BAD_ANSWERS), ids=list(BAD_ANSWERS))
@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_bad_answers_give_false_and_a_message(name, bad):
    value = BAD_ANSWERS[bad]
    msg = _check(name, CHECKERS[name](value, *EXTRA_ARGS.get(name, ())))
    assert not msg.startswith("could not check"), (name, msg)  # explicit validation, no fallback
    if bad == "None":
        assert "not answered" in msg, msg
    elif _expects_function(name):
        if bad == "returns None":
            assert "returned None" in msg, msg
        elif bad == "raises":
            assert "raised" in msg and "RuntimeError" in msg, msg
        elif bad == "returns ...":
            assert "returned `...`" in msg or "got `...`" in msg, msg
        else:
            assert "expected a function" in msg, msg
    elif bad == "nan":
        assert "NaN" in msg, msg
    elif bad == "inf":
        assert "infinity" in msg, msg
    elif bad != "int":  # 5 is a number, merely a wrong one
        assert "expected" in msg, msg


@pytest.mark.parametrize("bad", list(BAD_ANSWERS), ids=list(BAD_ANSWERS))
@pytest.mark.parametrize("name", sorted(EXTRA_ARGS))
def test_bad_extra_args_give_false_and_a_message(name, bad):
    right = {"check_gain_share": 0.5, "check_token_counts": 24}[name]
    msg = _check(name, CHECKERS[name](right, BAD_ANSWERS[bad]))
    assert not msg.startswith("could not check"), (name, msg)


def test_wrong_arity_is_named_before_calling():
    ok, msg = ex.check_rating_filter(lambda headers: True)
    assert not ok and "2 argument(s)" in msg and "my_keep(headers, cap)" in msg


def test_decorator_turns_an_unexpected_error_into_a_message(monkeypatch):
    def broken():
        raise KeyError("positions")

    monkeypatch.setattr(ex, "_ex6_positions", broken)
    ok, msg = ex.check_game_score(_score)
    assert ok is False
    assert msg.startswith("could not check your answer: KeyError:")
    assert "expected a function `my_score(board, color)`" in msg


def test_gain_share_rejects_nan():
    ok, msg = ex.check_gain_share(float("nan"), GAINS)
    assert not ok and "NaN" in msg
    # also where the share is undefined (total gain not positive): NaN is not accepted
    ok, msg = ex.check_gain_share(float("nan"), np.array([-0.1, 0.05]))
    assert not ok and "NaN" in msg
    ok, msg = ex.check_gain_share(0.5, np.array([-0.1, 0.05]))
    assert not ok and "not positive" in msg


# -- the book's solutions (from the {solution} blocks of book/*.ipynb) ---------------------------
def my_majority_vote(experts, rewards):
    mixture = experts.mean(axis=0)
    best = mixture.argmax(axis=1)
    return rewards[np.arange(len(best)), best].mean()


def my_uci_to_san(uci_moves):
    board = chess.Board()
    sans = []
    for uci in uci_moves:
        move = chess.Move.from_uci(uci)
        sans.append(board.san(move))
        board.push(move)
    return sans


def my_prefix(uci_moves):
    board, text = chess.Board(), ";"
    for i, uci in enumerate(uci_moves):
        if board.turn == chess.WHITE:
            text += (" " if i else "") + f"{board.fullmove_number}."
        else:
            text += " "
        text += board.san_and_push(chess.Move.from_uci(uci))
    if board.turn == chess.WHITE:
        return text + (" " if uci_moves else "") + f"{board.fullmove_number}."
    return text + " "


MOVE_TOK = MoveTokenizer()


def my_masked_argmax(logits, board):
    legal = MOVE_TOK.legal_ids(board)
    return MOVE_TOK.decode_move(legal[int(np.argmax(logits[legal]))])


def _score(board, color):
    outcome = board.outcome(claim_draw=True)
    if outcome.winner is None:
        return 0.5
    return 1.0 if outcome.winner == color else 0.0


def answer_probability(counts, truth, tau):
    if tau == 0:
        top = counts == counts.max()
        return top[truth] / top.sum()
    p = counts ** (1 / tau)
    return p[truth] / p.sum()


def _denoising_accuracy(correlation: float = 0.5, tau: float = 0) -> float:
    graph = generate_graph()
    truth = np.array([f.tail for f in graph.facts])
    pool = make_experts(graph, ExpertPoolConfig(n_experts=50, coverage=0.2,
                                                correlation=correlation, seed=0))
    return count_learner_for(pool).accuracy(truth, tau)


def my_illegal_mass(logits, legal_ids):
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return 1.0 - p[legal_ids].sum()


def my_temperature(probs, tau):
    z = np.log(probs) / tau
    q = np.exp(z - z.max())
    return q / q.sum()


def _gain_share(gains, top):
    g = np.sort(gains)[::-1]
    k = max(1, round(top * len(g)))
    return g[:k].sum() / g.sum()


# name -> list of (args, kwargs) that must be accepted
RIGHT = {
    "check_toy_reward": [((4 / 7,), {})],
    "check_majority_vote": [((my_majority_vote,), {})],
    "check_identical_threshold": [((0.5,), {})],
    "check_uci_to_san": [((my_uci_to_san,), {})],
    "check_rating_filter": [((my_keep,), {})],
    "check_state_entropy": [((0.865,), {})],
    "check_token_counts": [((24, 6), {})],
    "check_prefix_text": [((my_prefix,), {})],
    "check_masked_argmax": [((my_masked_argmax,), {})],
    "check_expert_reward": [((0.5795,), {})],
    "check_elo_from_score": [((1200 + 400 * math.log10(0.75 / 0.25),), {})],
    "check_game_score": [((_score,), {})],
    "check_answer_probability": [((answer_probability,), {})],
    "check_selection_gain": [((0.25,), {})],
    "check_correlated_denoising": [((_denoising_accuracy(),), {})],
    "check_block_params": [((12 * 512 ** 2 + 2 * 512,), {})],
    "check_illegal_mass": [((my_illegal_mass,), {})],
    "check_warmup_lr": [((1e-3 * 11 / 21,), {})],
    "check_tempered_prob": [((0.25 / 0.38,), {})],
    "check_temperature_fn": [((my_temperature,), {})],
    "check_char_greedy": [((0.0,), {})],
    "check_mixture_vote": [((0.295, "A", "engine"), {}), ((0.12, "A", "habit"), {}),
                           ((0.295, "B", "engine"), {}), ((0.435, "B", "habit"), {})],
    "check_gain_share": [((_gain_share(GAINS, 0.05), GAINS), {"top": 0.05}),
                         ((_gain_share(GAINS, 0.1), GAINS), {})],
}


# -- typical wrong answers: a plausible mistake and the hint it must get -------------------------
def majority_of_expert_votes(experts, rewards):
    """Each expert votes with its own argmax, then their rewards are averaged: not the mixture."""
    best = experts.argmax(axis=2)  # [n_experts, n_states]
    return rewards[np.arange(rewards.shape[0])[None, :], best].mean()


def san_after_push(uci_moves):
    board, sans = chess.Board(), []
    for uci in uci_moves:
        move = chess.Move.from_uci(uci)
        board.push(move)
        sans.append(board.san(move))  # too late: the move is no longer legal here
    return sans


def keep_with_min(headers, cap):
    """The weaker player's rating instead of the stronger one's: both players rated min(...)."""
    elos = [headers.get("WhiteElo", ""), headers.get("BlackElo", "")]
    if all(e.strip().isdigit() for e in elos):
        weaker = str(min(int(e) for e in elos))
        headers = dict(headers, WhiteElo=weaker, BlackElo=weaker)
    return my_keep(headers, cap)


def unmasked_argmax(logits, board):
    return MOVE_TOK.decode_move(int(np.argmax(logits[2:])) + 2)  # skips specials, not illegal moves


def paper_harness_score(board, color):
    if board.is_stalemate():  # the stalemated side "loses"
        return 0.0 if board.turn == color else 1.0
    return _score(board, color)


def no_ties_probability(counts, truth, tau):
    if tau == 0:
        return float(np.argmax(counts) == truth)  # the first maximum wins: ties not split
    p = counts ** (1 / tau)
    return p[truth] / p.sum()


def unnormalised_probability(counts, truth, tau):
    if tau == 0:
        top = counts == counts.max()
        return top[truth] / top.sum()
    return counts[truth] ** (1 / tau)  # forgot to divide by the sum


def legal_mass(logits, legal_ids):
    return 1.0 - my_illegal_mass(logits, legal_ids)


def unnormalised_temperature(probs, tau):
    z = np.log(probs) / tau
    return np.exp(z - z.max())  # forgot to renormalise


def _ascending_share(gains, top):
    k = max(1, round(top * len(gains)))
    return np.sort(gains)[:k].sum() / gains.sum()  # np.sort is ascending: the smallest gains


_H = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))

# name -> list of (args, kwargs, hint that must appear in the message or None)
WRONG = {
    "check_toy_reward": [((0.4,), {}, "r(1)"), ((0.16,), {}, "not normalised")],
    "check_majority_vote": [((majority_of_expert_votes,), {}, "Average the experts first")],
    "check_identical_threshold": [((0.25,), {}, "shared mistake"), ((1.0,), {}, "boundary")],
    "check_uci_to_san": [((san_after_push,), {}, "before board.push(move)"),
                         ((lambda u: [s.rstrip("+#") for s in my_uci_to_san(u)],), {}, "'+'")],
    "check_rating_filter": [((keep_with_min,), {}, "use max, not min")],
    "check_state_entropy": [((round(_H, 3),), {}, "entropy itself")],
    "check_token_counts": [((23, 5), {}, "<bos>")],
    "check_prefix_text": [((lambda u: my_prefix(u).rstrip(),), {}, "trailing space"),
                          ((lambda u: my_prefix(u).replace(".", ". "),), {}, "no space after")],
    "check_masked_argmax": [((unmasked_argmax,), {}, "not legal")],
    "check_expert_reward": [((0.496,), {}, "engine move")],
    "check_elo_from_score": [((1200 + 400 * math.log(3),), {}, "natural log")],
    "check_game_score": [((paper_harness_score,), {}, "harness")],
    "check_answer_probability": [((no_ties_probability,), {}, "tied maxima"),
                                 ((unnormalised_probability,), {}, "normalise")],
    "check_selection_gain": [((0.5,), {}, "condition itself"), ((0.75,), {}, "mixture's accuracy")],
    "check_correlated_denoising": [((_denoising_accuracy(correlation=0.0),), {}, "independent"),
                                   ((_denoising_accuracy(tau=1.0),), {}, "tau = 1")],
    "check_block_params": [((12 * 512 ** 2,), {}, "LayerNorm"),
                           ((12 * 512 ** 2 + 4 * 512,), {}, "no bias")],
    "check_illegal_mass": [((legal_mass,), {}, "LEGAL")],
    "check_warmup_lr": [((1e-3 * 10 / 20,), {}, "(i + 1)")],  # the off-by-one i / w
    "check_tempered_prob": [((0.25,), {}, "normalised")],
    "check_temperature_fn": [((unnormalised_temperature,), {}, "renormalise")],
    "check_char_greedy": [((1.0,), {}, "move-level")],
    "check_mixture_vote": [((0.28, "A", "engine"), {}, "by accident"),
                           ((0.435, "A", "habit"), {}, "king-marcher alone")],
    "check_gain_share": [((_ascending_share(GAINS, 0.1), GAINS), {}, "ascending"),
                         ((float(np.mean(GAINS > 0)), GAINS), {}, "sort the gains")],
}


def test_right_and_wrong_tables_cover_every_checker():
    assert set(RIGHT) == set(CHECKERS)
    assert set(WRONG) == set(CHECKERS)


def _cases(table):
    return [pytest.param(name, case, id=f"{name}-{i}")
            for name in sorted(table) for i, case in enumerate(table[name])]


# -- (b) a typical wrong answer is rejected with its hint ----------------------------------------
@pytest.mark.parametrize("name, case", _cases(WRONG))
def test_typical_wrong_answer_is_rejected_with_its_hint(name, case):
    args, kwargs, hint = case
    msg = _check(name, CHECKERS[name](*args, **kwargs))
    if hint is not None:
        assert hint in msg, msg


# -- (c) the right answer is accepted ------------------------------------------------------------
@pytest.mark.parametrize("name, case", _cases(RIGHT))
def test_right_answer_is_accepted(name, case):
    args, kwargs = case
    ok, msg = CHECKERS[name](*args, **kwargs)
    assert ok is True, msg
    assert msg.startswith("right"), msg
