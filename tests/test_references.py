"""The main experiment's mechanism pieces: the experts' error model, exact votes, the reference
policies (real Stockfish), the validation/test split, the temperature rule and the recovery ratio."""
from dataclasses import replace

import chess
import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from minitranscend import experiment as ex
from minitranscend.evaluation.reward import ratio_bootstrap_ci
from minitranscend.experiment.references import PanelMoves, distinct_experts, reference_distributions
from minitranscend.experiment.stages import choose_tau, compare_on_set, model_prefix
from minitranscend.player_specs import model_label
from minitranscend.players import Expert, ExpertConfig, exact_vote, expert_mixture, without_slips
from minitranscend.settings import HABIT_RATE, SHARED_HABIT, experiment_config
from minitranscend.train import game_split, is_val_game

BOARDS = [chess.Board(),
          chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"),
          chess.Board("r3k2r/ppp2ppp/2n1bn2/3qp3/3P4/2N1BN2/PPP1QPPP/R3K2R b KQkq - 3 9"),
          chess.Board("8/5pk1/6p1/3R4/8/6P1/5PK1/2r5 w - - 0 40")]


def test_expert_mixture_is_the_experts_own_distribution(monkeypatch):
    cfg = ExpertConfig("x", nodes=10, eps=0.2, habit="P", habit_rate=0.6)
    with Expert(cfg) as e:
        for i, b in enumerate(BOARDS):
            legal = list(b.legal_moves)
            engine, habit = e.engine_move(b), e.habit_move(b)
            mine = expert_mixture(cfg, legal, engine, habit)
            # the expert's own distribution, with the same engine and habit moves (a nodes-limited
            # search depends on the hash left by earlier searches: see PanelMoves.moves)
            monkeypatch.setattr(e, "engine_move", lambda board, m=engine: m)
            monkeypatch.setattr(e, "habit_move", lambda board, m=habit: m)
            theirs = e.distribution(b)
            monkeypatch.undo()
            assert set(mine) == set(theirs) == set(legal)
            assert all(mine[m] == pytest.approx(theirs[m]) for m in legal)
            assert sum(mine.values()) == pytest.approx(1.0)
            # eps spread over every legal move; the engine move has at least (1-eps)(1-h)
            assert min(mine.values()) == pytest.approx(0.2 / len(legal))
            assert mine[engine] >= 0.8 * 0.4 + 0.2 / len(legal) - 1e-12


def test_panel_moves_do_not_depend_on_the_order_of_states():
    cfg = experiment_config("ci")
    with PanelMoves(cfg) as one, PanelMoves(cfg) as two:
        forward = [one.moves(b) for b in BOARDS]
        backward = [two.moves(b) for b in reversed(BOARDS)][::-1]
    assert forward == backward


@given(eps=st.floats(0, 1), rate=st.floats(0, 1), n=st.integers(1, 40), e=st.integers(0, 39),
       h=st.integers(-1, 39))
@hsettings(max_examples=200, deadline=None)
def test_expert_mixture_is_a_distribution(eps, rate, n, e, h):
    moves = [chess.Move(i, (i + 8) % 64) for i in range(n)]
    cfg = ExpertConfig("x", eps=eps, habit="Q" if rate > 0 else None, habit_rate=rate)
    habit = moves[h % n] if h >= 0 else None
    dist = expert_mixture(cfg, moves, moves[e % n], habit)
    assert sum(dist.values()) == pytest.approx(1.0) and min(dist.values()) >= 0


def test_exact_vote_is_the_mode_of_the_averaged_panel_ties_split():
    a, b, c = chess.Move.from_uci("e2e4"), chess.Move.from_uci("d2d4"), chess.Move.from_uci("g1f3")
    assert exact_vote([{a: 0.6, b: 0.4}, {a: 0.3, b: 0.7}]) == {b: 1.0}  # 0.45 vs 0.55
    assert exact_vote([{a: 0.5, b: 0.5}]) == {a: 0.5, b: 0.5}
    assert exact_vote([{a: 1.0}, {b: 1.0}, {c: 0.4, a: 0.6}]) == {a: 1.0}
    with pytest.raises(ValueError):
        exact_vote([])


def test_without_slips_keeps_the_habit():
    e = ExpertConfig("expert-rook", nodes=10, eps=0.2, habit="R", habit_rate=0.6)
    clean = without_slips(e)
    assert (clean.name, clean.eps, clean.habit, clean.habit_rate) == ("expert-rook-noslip", 0.0, "R", 0.6)


def test_reference_policies_on_real_positions():
    """With real Stockfish: vote-A is the engine move on every state (four different habits, each
    below the engine move's mass), vote-B is the shared habit's move wherever it applies, and
    each expert's distribution is the one its own Expert computes."""
    cfg = experiment_config("ci")
    refs = reference_distributions(cfg, BOARDS)
    assert {"engine", "vote-A", "vote-B", "vote-S"} <= set(refs)
    for e in distinct_experts(cfg):
        assert e.name in refs and f"{e.name}-noslip" in refs
    shared = cfg.experts["B"][0]
    with Expert(shared) as king, PanelMoves(cfg) as panel:
        for i, b in enumerate(BOARDS):
            engine, habits = panel.moves(b)
            assert refs["engine"][i] == {engine: 1.0}
            assert refs["vote-A"][i] == {engine: 1.0}
            habit = king.habit_move(b)
            assert habits[SHARED_HABIT] == habit
            assert refs["vote-B"][i] == {habit if habit is not None else engine: 1.0}
            # every expert of B is the same: B's vote is any one expert's mode
            assert refs["vote-B"][i] == exact_vote([refs["expert-king1"][i]])
    # slip-free: the expert's mixture with its eps moved onto its own moves
    for i, b in enumerate(BOARDS):
        noslip = refs["expert-pawn-noslip"][i]
        assert sum(noslip.values()) == pytest.approx(1.0) and sum(p > 0 for p in noslip.values()) <= 2


def test_panel_moves_refuses_experts_on_different_engines():
    cfg = experiment_config("ci")
    odd = replace(cfg, experts={**cfg.experts, "A": [replace(cfg.experts["A"][0], nodes=50)]
                                + cfg.experts["A"][1:]})
    with pytest.raises(ValueError, match="one engine setting"):
        PanelMoves(odd)


def test_the_design_premises_of_the_panels():
    cfg = experiment_config("full")
    a, b, s = cfg.experts["A"], cfg.experts["B"], cfg.experts["S"]
    assert len({e.habit for e in a}) == len(a) == 4 and {e.habit for e in b} == {SHARED_HABIT}
    assert s[0] in a  # the control is one of A's experts, alone
    # A's vote plays the engine move (1 - h > h / 4); B's the habit (h > 1 - h)
    assert 1 - HABIT_RATE > HABIT_RATE / len(a) and HABIT_RATE > 1 - HABIT_RATE
    assert len({(e.nodes, e.eps, e.habit_rate) for e in a + b + s}) == 1


def test_game_split_halves_the_held_out_games():
    ids = range(4000)
    parts = [game_split(i, 0.1) for i in ids]
    held = [i for i in ids if is_val_game(i, 0.1)]
    assert sorted(i for i, p in zip(ids, parts) if p != "train") == held
    n_val, n_test = parts.count("val"), parts.count("test")
    assert abs(n_val - n_test) < 0.25 * len(held) and n_val + n_test == len(held)
    assert [game_split(i, 0.1) for i in ids] == parts  # deterministic


def test_validation_and_test_states_share_no_game(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITRANSCEND_RUNS", str(tmp_path))
    cfg = replace(experiment_config("ci"), n_games=60, n_states=20, n_val_states=20)
    val = ex.experiment_states(cfg, "A", "val")
    test = ex.experiment_states(cfg, "A", "test")
    assert len(val) == len(test) == 20
    assert not {s.game for s in val} & {s.game for s in test}
    assert {game_split(s.game, cfg.train["val_fraction"]) for s in val} == {"val"}
    assert {game_split(s.game, cfg.train["val_fraction"]) for s in test} == {"test"}
    with pytest.raises(ValueError, match="part"):
        ex.experiment_states(cfg, "A", "train")


def test_ratio_bootstrap_ci():
    rng = np.random.default_rng(0)
    den = rng.normal(0.05, 0.05, 3000)
    num = 0.5 * den + rng.normal(0, 0.02, 3000)
    r, lo, hi = ratio_bootstrap_ci(num, den, groups=np.arange(3000) // 10)
    assert lo < 0.5 < hi and r == pytest.approx(num.sum() / den.sum()) and hi - lo < 0.2
    r, lo, hi = ratio_bootstrap_ci([1.0, 2.0], [1.0, -1.0])
    assert np.isnan(r)
    with pytest.raises(ValueError):
        ratio_bootstrap_ci([1.0], [1.0, 2.0])


def _fake_rewards(cfg, n=200, seed=0):
    """Synthetic per-state rewards: the best expert 0.50, the vote 0.56, seed k's model at
    tau = 0.1 halfway (0.53) and worse at every other temperature."""
    rng = np.random.default_rng(seed)
    noise = lambda: rng.normal(0, 0.01, n)  # noqa: E731
    r = {e.name: 0.45 + noise() for e in cfg.experts["A"]}
    r[cfg.experts["A"][1].name] = 0.50 + noise()
    r["vote-A"] = r[cfg.experts["A"][1].name] + 0.06
    for s in cfg.train_seeds:
        for t in cfg.taus:
            base = r[cfg.experts["A"][1].name] + (0.03 if t == 0.1 else -0.01)
            r[model_label(model_prefix("A", s), t)] = base
    return r


def test_choose_tau_and_compare_on_set():
    cfg = experiment_config("ci")
    r = _fake_rewards(cfg)
    assert choose_tau(r, cfg, "A", 0) == 0.1
    flat = {k: np.zeros(5) for k in r}
    assert choose_tau(flat, cfg, "A", 0) == min(cfg.taus)  # ties: the lowest temperature
    games = [i // 4 for i in range(200)]
    c = compare_on_set(r, games, cfg, "A", {s: 0.1 for s in cfg.train_seeds})
    assert c["best_expert"] == cfg.experts["A"][1].name
    assert c["vote_minus_best_expert"]["mean"] == pytest.approx(0.06)
    for row in c["seeds"]:
        assert row["model_minus_best_expert"]["mean"] == pytest.approx(0.03)
        assert row["recovery"]["mean"] == pytest.approx(0.5)
        assert row["model_minus_vote"]["mean"] == pytest.approx(-0.03)
    assert c["seeds_above_best_expert"] == len(cfg.train_seeds)
    assert c["spread"]["gain_min"] == pytest.approx(0.03)
