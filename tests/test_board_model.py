"""The fast board model: canonical (mover's-side) encoding, the from/to head, the legal-moves-only
loss, and the policy that un-mirrors black's moves at play time."""
import math
import random

import chess
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitranscend.data.records import GameRecord, write_jsonl_shard
from minitranscend.model import GPT, GPTConfig, PRESETS, fromto_index
from minitranscend.policy import ModelPlayer, move_distribution, move_distributions
from minitranscend.tokenizers import BoardTokenizer, MoveTokenizer, tokenizer_from_dict
from minitranscend.train import TrainConfig, build_dataset, load_checkpoint, read_metrics, train

torch.set_num_threads(1)  # tiny models: one thread is faster, and far faster on a busy machine

CANON, PLAIN, MOVES = BoardTokenizer(canonical=True), BoardTokenizer(), MoveTokenizer()


def mirror_move(m: chess.Move) -> chess.Move:
    return chess.Move(chess.square_mirror(m.from_square), chess.square_mirror(m.to_square), m.promotion)


def random_board(seed: int, max_plies: int = 80) -> chess.Board:
    rng = random.Random(seed)
    b = chess.Board()
    for _ in range(rng.randrange(max_plies)):
        if b.is_game_over():
            break
        b.push(rng.choice(list(b.legal_moves)))
    return b


def board_model(head: str = "fromto", seed: int = 0, sharpen: float = 1.0) -> GPT:
    torch.manual_seed(seed)
    m = GPT(GPTConfig(vocab_size=CANON.vocab_size, block_size=70, n_layer=1, n_head=2, n_embd=32,
                      causal=False, out_vocab_size=MOVES.vocab_size, policy_head=head))
    with torch.no_grad():  # a random init is nearly uniform; make it opinionated
        for p in m.lm_head.parameters():
            p.mul_(sharpen)
    return m.eval()


# -- canonical tokenizer ------------------------------------------------------------------------

@given(st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_canonical_encoding_is_the_movers_view(seed):
    b = random_board(seed)
    ids = CANON.encode_board(b)
    assert CANON.vocab[ids[64]] == "to-move:w"  # the mover is always "white"
    if b.turn == chess.WHITE:
        assert ids == PLAIN.encode_board(b)
    else:
        assert ids == PLAIN.encode_board(b.mirror())
        assert CANON.decode_board(ids).epd() == b.mirror().epd()
    # a position and its colour-flipped twin look identical to the model
    assert CANON.encode_board(b.mirror()) == ids
    for m in b.legal_moves:
        i = CANON.move_id(b, m)
        assert CANON.decode_move_id(b, i) == m
        assert i == MOVES.encode_move(m if b.turn == chess.WHITE else mirror_move(m))


def test_canonical_round_trips_through_a_checkpoint_dict():
    assert "canonical" not in PLAIN.to_dict()  # old checkpoints stay equal to the default tokenizer
    assert tokenizer_from_dict(CANON.to_dict()) == CANON != PLAIN
    assert tokenizer_from_dict(PLAIN.to_dict()).canonical is False
    b = chess.Board()
    b.push_uci("e2e4")  # black to move: e7e5 is stored as the white move e2e4
    assert CANON.move_id(b, chess.Move.from_uci("e7e5")) == MOVES.encode_move("e2e4")
    assert CANON.decode_move_id(b, MOVES.encode_move("g1f3")) == chess.Move.from_uci("g8f6")


# -- the from/to head and the masked loss ------------------------------------------------------

def test_fromto_head_is_the_square_pair_dot_product():
    m = board_model(sharpen=5.0)
    b = random_board(3)
    x = torch.tensor([CANON.encode_board(b)])
    with torch.no_grad():
        logits, _ = m(x)
        h = m.hidden_states(x)[0]
        head = m.lm_head
        q, k, u = head.q(h[:64]), head.k(h[:64]), head.promo(h[:64])
    assert logits.shape == (1, MOVES.vocab_size)
    assert torch.isinf(logits[0, :2]).all() and (logits[0, :2] < 0).all()  # <pad>, <bos>
    assert torch.isfinite(logits[0, 2:]).all()
    for uci in ("e2e4", "g1f3", "e1g1", "a7b8n", "h2h1q"):
        mv = chess.Move.from_uci(uci)
        want = q[mv.from_square] @ k[mv.to_square] / math.sqrt(32)
        if mv.promotion:
            want = want + u[mv.to_square, "nbrq".index(chess.piece_symbol(mv.promotion))]
        assert logits[0, MOVES.encode_move(mv)].item() == pytest.approx(want.item(), abs=1e-5)
    pair, promo = fromto_index()
    assert len(pair) == MOVES.vocab_size and len(set(pair[2:][promo[2:] == 0].tolist())) == 1792


def test_legal_loss_is_cross_entropy_among_the_legal_moves():
    m = board_model(sharpen=5.0)
    boards = [random_board(s) for s in range(4)]
    boards = [b for b in boards if not b.is_game_over()]
    x = torch.tensor([CANON.encode_board(b) for b in boards])
    legal = torch.zeros(len(boards), MOVES.vocab_size, dtype=torch.bool)
    y = []
    for i, b in enumerate(boards):
        legal[i, CANON.move_ids(b)] = True
        y.append(CANON.move_id(b, sorted(b.legal_moves, key=lambda mv: mv.uci())[0]))
    y = torch.tensor(y)
    with torch.no_grad():
        raw, unmasked = m(x, y)
        masked_logits, loss = m(x, y, legal)
    ref = np.mean([-(torch.log_softmax(raw[i][legal[i]].double(), 0)[
        legal[i].nonzero().squeeze(1).tolist().index(int(y[i]))]).item() for i in range(len(boards))])
    assert loss.item() == pytest.approx(ref, abs=1e-5)
    assert loss.item() < unmasked.item()  # no mass wasted on illegal ids
    assert torch.isinf(masked_logits[~legal]).all()


def test_fromto_needs_a_board_model():
    with pytest.raises(ValueError, match="board model"):
        GPTConfig(vocab_size=40, block_size=70, policy_head="fromto")
    with pytest.raises(ValueError, match="policy_head"):
        GPTConfig(vocab_size=40, block_size=70, causal=False, out_vocab_size=100, policy_head="mlp")
    with pytest.raises(ValueError, match="1970"):
        GPT(GPTConfig(vocab_size=31, block_size=70, n_layer=1, n_head=2, n_embd=32, causal=False,
                      out_vocab_size=100, policy_head="fromto"))


# -- the policy un-mirrors ------------------------------------------------------------------------

@pytest.mark.parametrize("head", ["fromto", "pool"])
def test_policy_probabilities_are_for_the_real_moves(head):
    """For black the model scores the mirrored board; the distribution must name black's real
    moves with the probabilities of their mirrored ids."""
    m = board_model(head, sharpen=30.0)
    b = chess.Board()
    for u in "e2e4 e7e5 g1f3 b8c6 f1b5".split():
        b.push_uci(u)
    d = move_distribution(m, CANON, b)
    assert set(d.moves) == set(b.legal_moves)
    with torch.no_grad():
        logits, _ = m(torch.tensor([PLAIN.encode_board(b.mirror())]))
    lp = torch.log_softmax(logits[0].double(), 0)
    ids = [MOVES.encode_move(mirror_move(mv)) for mv in d.moves]
    want = torch.softmax(lp[ids], 0).numpy()
    np.testing.assert_allclose(d.probs, want, atol=1e-6)  # fp32 logits
    assert d.probs.max() > 2.0 / len(d.moves)
    # colour symmetry: black here plays exactly what white plays in the mirrored position
    dm = move_distribution(m, CANON, b.mirror()).as_dict()
    for mv, p in d.as_dict().items():
        assert dm[mirror_move(mv)] == pytest.approx(p, abs=1e-6)
    player = ModelPlayer(m, CANON, tau=0.0)
    assert player.choose(b) == d.argmax() and player.choose(b) in b.legal_moves


def test_batched_canonical_distributions_match_single():
    m = board_model(sharpen=10.0)
    boards = [random_board(s) for s in range(6)]
    boards = [b for b in boards if not b.is_game_over()]
    for b, d in zip(boards, move_distributions(m, CANON, boards)):
        np.testing.assert_allclose(d.probs, move_distribution(m, CANON, b).probs, atol=1e-6)


# -- training with the recipe ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("games")
    rng = random.Random(0)
    games = []
    for gid in range(40):  # a learnable "expert": the alphabetically first UCI move, 80% of the time
        b = chess.Board()
        while not b.is_game_over() and len(b.move_stack) < 60:
            moves = sorted(b.legal_moves, key=lambda mv: mv.uci())
            b.push(moves[0] if rng.random() < 0.8 else rng.choice(moves))
        games.append(GameRecord(gid, "r", "r", "1/2-1/2", "test", " ".join(mv.uci() for mv in b.move_stack)))
    write_jsonl_shard(d / "shard-00000.jsonl", games)
    return d


def test_board_dataset_stores_the_legal_moves(data_dir, tmp_path):
    cfg = TrainConfig(data=str(data_dir), out=str(tmp_path), tokenizer="board", preset="board-tiny",
                      val_fraction=0.2)
    assert cfg.canonical is True  # the from/to preset encodes from the mover's side
    assert TrainConfig(tokenizer="board").canonical is False  # the old pooled model does not
    arrays, _ = build_dataset(cfg, BoardTokenizer(canonical=True), tmp_path / "data")
    a = arrays["train"]
    legal = np.unpackbits(a["legal"], axis=1, count=MOVES.vocab_size).astype(bool)
    assert legal[np.arange(len(a["y"])), a["y"]].all()  # every played move is among its legal moves
    assert (a["x"][:, 64] == CANON.vocab.index("to-move:w")).all()
    # the first position: 20 legal moves, exactly the white opening moves
    assert sorted(MOVES.decode_move(i).uci() for i in np.flatnonzero(legal[0])) == \
        sorted(mv.uci() for mv in chess.Board().legal_moves)


@pytest.mark.slow
def test_board_tiny_trains_with_the_legal_loss(data_dir, tmp_path):
    cfg = TrainConfig.from_dict(dict(data=str(data_dir), out=str(tmp_path), preset="board-tiny",
                                     max_iters=30, eval_interval=30, val_fraction=0.2, progress=False))
    assert (cfg.tokenizer, cfg.batch_size, cfg.lr) == ("board", 64, 3e-3)  # the preset's defaults
    assert PRESETS["board-tiny"]["policy_head"] == "fromto"
    train(cfg)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    arrays, _ = build_dataset(cfg, CANON, tmp_path / "data")
    n_legal = np.unpackbits(arrays["train"]["legal"], axis=1).sum(1)
    # at init the policy is ~uniform over the legal moves: loss = E[log #legal], not log(1970)
    assert rows[0]["train_loss"] == pytest.approx(np.log(n_legal).mean(), abs=0.15)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] - 0.5
    model, tok, _ = load_checkpoint(tmp_path)
    assert tok == CANON and model.config.policy_head == "fromto"
    b = chess.Board()
    b.push_uci("d2d4")
    assert ModelPlayer(model, tok, tau=0.0).choose(b) in b.legal_moves
