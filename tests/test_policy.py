"""Exact move distributions, temperature, the paper's sampler and the model player."""
import chess
import numpy as np
import pytest
import torch

from minitranscend.model import GPT, GPTConfig
from minitranscend.players import Player
from minitranscend.policy import (ModelForfeit, ModelPlayer, apply_temperature, move_distribution,
                                  move_distributions, sample_char_move)
from minitranscend.tokenizers import BoardTokenizer, CharTokenizer, MoveTokenizer

torch.set_num_threads(1)  # tiny models: one thread is faster, and far faster on a busy machine


def model_for(tok, block_size=64, **kw) -> GPT:
    torch.manual_seed(0)
    if tok.name == "board":
        kw.update(causal=False, out_vocab_size=tok.move_tokenizer.vocab_size)
        block_size = tok.seq_len
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=block_size, n_layer=2, n_head=2, n_embd=32, **kw))
    # a random init is nearly uniform; sharpen it so distributions are far from uniform
    with torch.no_grad():
        m.lm_head.weight.mul_(30.0)
    return m.eval()


def played(ucis: str) -> chess.Board:
    b = chess.Board()
    for u in ucis.split():
        b.push_uci(u)
    return b


BOARDS = [chess.Board(), played("e2e4"), played("e2e4 e7e5 g1f3 b8c6 f1b5 a7a6"),
          played("e2e4 d7d5 e4d5 d8d5 b1c3 d5a5 d2d4 c7c6")]


@pytest.mark.parametrize("tok", [MoveTokenizer(), CharTokenizer(), BoardTokenizer()], ids=lambda t: t.name)
def test_distribution_is_over_exactly_the_legal_moves_and_sums_to_one(tok):
    m = model_for(tok)
    for b in BOARDS:
        d = move_distribution(m, tok, b)
        assert set(d.moves) == set(b.legal_moves) and len(d.moves) == b.legal_moves.count()
        assert d.probs.sum() == pytest.approx(1.0, abs=1e-12)
        assert (d.probs >= 0).all() and 0.0 <= d.illegal_mass <= 1.0
        assert d.probs.max() > 2.0 / len(d.moves)  # not accidentally uniform


def test_move_masking_matches_a_direct_softmax():
    tok, m = MoveTokenizer(), model_for(MoveTokenizer())
    b = BOARDS[2]
    d = move_distribution(m, tok, b)
    with torch.no_grad():
        logits, _ = m(torch.tensor([tok.encode_game(b.move_stack)]))
    p = torch.softmax(logits[0, -1].double(), -1).numpy()
    ids = [tok.encode_move(mv) for mv in d.moves]
    assert d.illegal_mass == pytest.approx(1 - p[ids].sum(), abs=1e-6)
    np.testing.assert_allclose(d.probs, p[ids] / p[ids].sum(), atol=1e-6)  # fp32 logits


@pytest.mark.parametrize("tok", [MoveTokenizer(), CharTokenizer(), BoardTokenizer()], ids=lambda t: t.name)
def test_batched_equals_one_at_a_time(tok):
    m = model_for(tok)
    batch = move_distributions(m, tok, BOARDS)
    for b, d in zip(BOARDS, batch):
        single = move_distribution(m, tok, b)
        assert single.moves == d.moves
        np.testing.assert_allclose(single.probs, d.probs, atol=1e-5)


def test_char_move_probability_is_the_product_of_char_probabilities():
    """Each candidate scored in one batched pass == step-by-step, one forward pass per character."""
    tok = CharTokenizer()
    m = model_for(tok, block_size=128)
    for b in (BOARDS[0], BOARDS[2], BOARDS[3]):
        d = move_distribution(m, tok, b)
        prefix = tok.encode(tok.prefix_text(b))
        for i, mv in enumerate(d.moves[:6]):
            ids, logp = list(prefix), 0.0
            for c in tok.encode(tok.move_suffix(b, mv)):
                with torch.no_grad():
                    logits, _ = m(torch.tensor([ids]))
                logp += torch.log_softmax(logits[0, -1].double(), -1)[c].item()
                ids.append(c)
            assert d.extra["logp_unnormalised"][i] == pytest.approx(logp, abs=1e-4)
        total = np.exp(d.extra["logp_unnormalised"]).sum()
        assert d.illegal_mass == pytest.approx(1 - total, abs=1e-9)


def test_long_games_use_the_last_block_size_tokens():
    tok = CharTokenizer()
    m = model_for(tok, block_size=24)  # far shorter than the game text
    b = BOARDS[3]
    assert len(tok.prefix_text(b)) > 24
    d = move_distribution(m, tok, b)
    assert d.probs.sum() == pytest.approx(1.0)
    mt = MoveTokenizer()
    d = move_distribution(model_for(mt, block_size=4), mt, b)  # 9 move tokens, 4 fit
    assert d.probs.sum() == pytest.approx(1.0)


def test_history_models_refuse_a_board_without_history():
    tok = MoveTokenizer()
    with pytest.raises(ValueError, match="standard start"):
        move_distribution(model_for(tok), tok, chess.Board("8/8/8/4k3/8/8/3QK3/8 w - - 0 1"))
    tb = BoardTokenizer()  # a board model needs no history
    assert move_distribution(model_for(tb), tb, chess.Board("8/8/8/4k3/8/8/3QK3/8 w - - 0 1")).probs.sum() == pytest.approx(1)


def test_policy_tempers_with_the_one_operator():
    """``policy.apply_temperature`` is :func:`minitranscend.temperature.apply_temperature` (its
    properties are tested in test_temperature.py); a player refuses a temperature that is not one."""
    from minitranscend import temperature
    assert apply_temperature is temperature.apply_temperature
    tok = MoveTokenizer()
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            ModelPlayer(model_for(tok), tok, tau=bad)


class Speller(torch.nn.Module):
    """A fake char model that spells ``words`` after the prompt (to test the sampler's parsing)."""

    def __init__(self, tok, prompt_len, text):
        super().__init__()
        self.config = GPTConfig(vocab_size=32, block_size=512)
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.ids, self.prompt_len = tok.encode(text), prompt_len

    def forward(self, idx, targets=None):
        T = idx.size(1)
        logits = torch.full((1, T, 32), -20.0)
        k = T - self.prompt_len
        logits[0, -1, self.ids[k] if k < len(self.ids) else 0] = 20.0
        return logits, None


def test_paper_sampler_parses_the_first_word_and_gives_up_after_retries():
    tok = CharTokenizer()
    b = played("e2e4 e7e5")
    n = len(tok.prefix_text(b))
    assert sample_char_move(Speller(tok, n, "Nf3 Nc6"), tok, b, tau=0.0) == chess.Move.from_uci("g1f3")
    assert sample_char_move(Speller(tok, n, "Nf3+ Nc6"), tok, b, tau=0.0) == chess.Move.from_uci("g1f3")
    assert sample_char_move(Speller(tok, n, "Ke3 Nc6"), tok, b, tau=0.0) is None  # illegal, 5 retries
    with pytest.raises(ModelForfeit):
        ModelPlayer(Speller(tok, n, "Qh8 a"), tok, tau=0.0, mode="paper").choose(b)


def test_paper_sampler_with_a_real_model_returns_a_legal_move_or_none():
    tok = CharTokenizer()
    m = model_for(tok, block_size=64)
    rng = np.random.default_rng(0)
    for _ in range(3):
        mv = sample_char_move(m, tok, BOARDS[1], tau=1.0, rng=rng)
        assert mv is None or mv in BOARDS[1].legal_moves


def test_char_tau_distribution_sharpens():
    tok = CharTokenizer()
    m = model_for(tok)
    d1 = move_distribution(m, tok, BOARDS[2], char_tau=1.0)
    np.testing.assert_allclose(d1.probs, move_distribution(m, tok, BOARDS[2]).probs, atol=1e-12)
    d_low = move_distribution(m, tok, BOARDS[2], char_tau=0.05)
    assert d_low.probs.max() > d1.probs.max()


@pytest.mark.parametrize("tok", [MoveTokenizer(), CharTokenizer()], ids=lambda t: t.name)
def test_model_player(tok):
    m = model_for(tok)
    p = ModelPlayer(m, tok, tau=0.0, name="m0")
    assert isinstance(p, Player)
    b = BOARDS[2]
    d = move_distribution(m, tok, b)
    assert p.choose(b) == d.argmax()
    dist = p.distribution(b)
    assert dist[d.argmax()] == 1.0 and sum(dist.values()) == pytest.approx(1.0)
    hot = ModelPlayer(m, tok, tau=1.0, seed=3)
    first = [hot.choose(b) for _ in range(8)]
    hot.new_game(3)
    assert [hot.choose(b) for _ in range(8)] == first  # a game is a pure function of its seed
    assert all(mv in b.legal_moves for mv in first)
    desc = p.describe()
    assert desc["tau"] == 0.0 and desc["tokenizer"] == tok.name and desc["params"] == m.num_params()
    with pytest.raises(ValueError):
        ModelPlayer(m, MoveTokenizer(), mode="paper")


def test_avoid_draws_when_ahead_removes_stalemates_and_keeps_the_mate():
    from minitranscend.policy import MoveDistribution, avoid_draws_when_ahead, drawing_moves

    board = chess.Board("7k/5Q2/6K1/8/8/8/8/8 w - - 0 1")  # white is a queen up
    moves = list(board.legal_moves)
    bad = drawing_moves(board)
    stalemates = {m for m in moves if _after(board, m).is_stalemate()}
    assert stalemates and stalemates <= bad
    uniform = MoveDistribution(moves, np.full(len(moves), 1 / len(moves)))
    out = avoid_draws_when_ahead(uniform, board)
    probs = dict(zip(out.moves, out.probs))
    assert all(probs[m] == 0 for m in bad)
    assert probs[chess.Move.from_uci("f7g7")] > 0  # Qg7# stays
    assert abs(out.probs.sum() - 1) < 1e-12
    # the side that is behind is left alone: it may want the draw
    behind = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    bm = list(behind.legal_moves) or [None]
    if bm[0] is not None:
        d = MoveDistribution(bm, np.full(len(bm), 1 / len(bm)))
        assert avoid_draws_when_ahead(d, behind) is d


def _after(board, move):
    b = board.copy()
    b.push(move)
    return b
