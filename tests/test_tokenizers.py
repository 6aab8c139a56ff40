"""Tokenizers: round trips and invariants over random legal games (hypothesis)."""
from __future__ import annotations

import random

import chess
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitranscend.data import GameRecord
from minitranscend.tokenizers import (CHAR_VOCAB, BoardTokenizer, CharTokenizer, MoveTokenizer,
                                      get_tokenizer, load_tokens, save_tokens, tokenize_games,
                                      tokenizer_from_dict, tokens_path)

CHAR, MOVE, BOARD = CharTokenizer(), MoveTokenizer(), BoardTokenizer()


def random_game(seed: int, max_plies: int = 120) -> chess.Board:
    """A random legal game; random movers often promote, and sometimes mate."""
    rng = random.Random(seed)
    board = chess.Board()
    for _ in range(rng.randrange(max_plies + 1)):
        moves = list(board.legal_moves)
        if not moves:
            break
        # prefer checks, captures and promotions a little, to reach mates and promotions more often
        sharp = [m for m in moves if m.promotion or board.gives_check(m) or board.is_capture(m)]
        board.push(rng.choice(sharp if sharp and rng.random() < 0.5 else moves))
    return board


games = st.integers(0, 2**32 - 1).map(random_game)

FOOLS_MATE = ["f2f3", "e7e5", "g2g4", "d8h4"]
PROMOTION_CHECK = chess.Board("7k/1P6/8/8/8/8/6K1/8 w - - 0 1")


@settings(max_examples=60, deadline=None)
@given(games)
def test_char_round_trip_and_san(board: chess.Board):
    moves = board.move_stack
    text = CHAR.game_text(moves)
    assert text.startswith(";") and "  " not in text and not text.endswith(" ")
    for result in ("1-0", "0-1", "1/2", "*"):
        assert result not in text
    assert CHAR.parse_game_text(text, strict=True) == moves
    ids = CHAR.encode(text)
    assert CHAR.decode(ids) == text and max(ids, default=0) < 32
    assert CHAR.decode_game(CHAR.encode_game(moves)) == moves
    # SAN tokens (check / mate symbols included) are python-chess's own
    replay, sans = chess.Board(), []
    for m in moves:
        sans.append(replay.san(m))
        replay.push(m)
    tokens = [t.split(".")[-1] for t in text[1:].split(" ")] if moves else []
    assert tokens == sans


@settings(max_examples=40, deadline=None)
@given(games)
def test_prefix_and_suffix_compose(board: chess.Board):
    moves = list(board.legal_moves)
    prefix = CHAR.prefix_text(board)
    assert CHAR.parse_game_text(prefix) == board.move_stack
    assert prefix.endswith(".") if board.turn == chess.WHITE else prefix.endswith(" ")
    if moves:
        m = random.Random(len(board.move_stack)).choice(moves)
        suffix = CHAR.move_suffix(board, m)
        assert suffix == board.san(m) + " " and suffix.count(" ") == 1
        after = board.copy()
        after.push(m)
        assert prefix + suffix == CHAR.game_text(after.move_stack) + " "
        assert CHAR.prefix_text(after).startswith(prefix + suffix)


@settings(max_examples=60, deadline=None)
@given(games)
def test_move_vocab_covers_every_legal_move(board: chess.Board):
    ids = MOVE.encode_game(board.move_stack)
    assert ids[0] == MOVE.bos_id and MOVE.decode_game(ids) == board.move_stack
    legal = list(board.legal_moves)
    assert [MOVE.decode_move(i) for i in MOVE.legal_ids(board)] == legal
    assert MOVE.legal_mask(board).sum() == len(legal)


@settings(max_examples=60, deadline=None)
@given(games)
def test_board_round_trip(board: chess.Board):
    ids = BOARD.encode_board(board)
    assert len(ids) == BOARD.seq_len == 70 and max(ids) < BOARD.vocab_size
    assert BOARD.decode_board(ids).epd() == board.epd()  # placement, turn, castling, legal ep


def test_char_examples():
    b = chess.Board()
    assert CHAR.prefix_text(b) == ";1."
    for san in ["e4", "e5", "Nf3"]:
        b.push_san(san)
    assert CHAR.prefix_text(b) == ";1.e4 e5 2.Nf3 "
    b.push_san("Nc6")
    assert CHAR.prefix_text(b) == ";1.e4 e5 2.Nf3 Nc6 3."
    assert CHAR.game_text(b.move_stack) == ";1.e4 e5 2.Nf3 Nc6"
    assert CHAR.game_text(FOOLS_MATE) == ";1.f3 e5 2.g4 Qh4#"
    assert CHAR.move_suffix(PROMOTION_CHECK, chess.Move.from_uci("b7b8q")) == "b8=Q+ "
    assert CHAR.vocab == list(" #+-.0123456789;=BKNOQRabcdefghx") and CHAR.vocab_size == 32
    assert CHAR.encode(";1.e4") == [CHAR_VOCAB.index(c) for c in ";1.e4"]
    castle = [chess.Move.from_uci(u) for u in "e2e4 e7e5 g1f3 b8c6 f1c4 g8f6 e1g1".split()]
    assert CHAR.game_text(castle).endswith("4.O-O")


def test_char_errors():
    with pytest.raises(ValueError, match=r"'!' at position 5"):
        CHAR.encode(";1.e4!")
    with pytest.raises(ValueError, match=r"'é' at position 0"):
        CHAR.encode("é")
    with pytest.raises(ValueError, match=r"'Ke3' at character 11"):
        CHAR.parse_game_text(";1.e4 e5 2.Ke3")
    with pytest.raises(ValueError, match=r"expected move number '2.' at character 9"):
        CHAR.parse_game_text(";1.e4 e5 3.Nf3")
    with pytest.raises(ValueError, match="start with ';'"):
        CHAR.parse_game_text("1.e4")
    with pytest.raises(ValueError, match="two spaces"):
        CHAR.parse_game_text(";1.e4  e5")
    with pytest.raises(ValueError, match="illegal"):
        CHAR.move_suffix(chess.Board(), chess.Move.from_uci("e2e5"))
    with pytest.raises(ValueError, match="not written as python-chess"):
        CHAR.parse_game_text(";1.Ng1f3", strict=True)


def test_move_vocab():
    assert MOVE.vocab[:2] == ["<pad>", "<bos>"] and MOVE.n_moves == 1968 and MOVE.vocab_size == 1970
    assert len(set(MOVE.vocab)) == MOVE.vocab_size
    assert MOVE.vocab == MoveTokenizer().vocab  # deterministic
    assert sum(u.endswith(("q", "r", "b", "n")) and len(u) == 5 for u in MOVE.vocab) == 176
    for u in ["e1g1", "e8c8", "a7a8n", "h2g1q", "b1c3"]:
        assert MOVE.vocab[MOVE.encode_move(u)] == u
    for u in ["a1c4", "e2e4q", "0000", "a7a8k"]:
        with pytest.raises(ValueError, match=u):
            MOVE.encode_move(u)
    with pytest.raises(ValueError, match="not a move"):
        MOVE.decode_move(1)


def test_board_tokens_examples_and_errors():
    start = BOARD.encode_board(chess.Board())
    assert [BOARD.vocab[i] for i in start[:8]] == list("RNBQKBNR")
    assert [BOARD.vocab[i] for i in start[64:]] == ["to-move:w", "K:+", "Q:+", "k:+", "q:+", "ep:-"]
    ep = chess.Board("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3")
    assert BOARD.vocab[BOARD.encode_board(ep)[69]] == "ep:f"
    assert BOARD.decode_board(BOARD.encode_board(ep)).ep_square == chess.F6
    with pytest.raises(ValueError, match="70 tokens"):
        BOARD.decode_board(start[:-1])
    with pytest.raises(ValueError, match="token 64 should be a side-to-move"):
        BOARD.decode_board(start[:64] + [0] + start[65:])
    assert BOARD.move_tokenizer.vocab_size == 1970


def test_serialization():
    for tok in (CHAR, MOVE, BOARD):
        d = tok.to_dict()
        assert tokenizer_from_dict(d) == tok and get_tokenizer(tok.name) == tok
    bad = {**MOVE.to_dict(), "vocab": MOVE.vocab[:-1]}
    with pytest.raises(ValueError, match="vocabulary differs"):
        tokenizer_from_dict(bad)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("bpe")


def test_tokenize_games_and_files(tmp_path):
    boards = [random_game(s, 60) for s in range(5)]
    recs = [GameRecord(id=i, white="a", black="b", result="1/2-1/2", termination="x",
                       uci=" ".join(m.uci() for m in b.move_stack)) for i, b in enumerate(boards)]
    for tok in (CHAR, MOVE):
        tokens, offsets = tokenize_games(recs, tok)
        assert tokens.dtype == np.uint16 and offsets.dtype == np.int64
        assert offsets[0] == 0 and offsets[-1] == len(tokens) and len(offsets) == len(recs) + 1
        for b, lo, hi in zip(boards, offsets[:-1], offsets[1:]):
            assert tok.decode_game(tokens[lo:hi]) == b.move_stack
    tokens, offsets = tokenize_games(recs, MOVE)
    save_tokens(tokens_path(tmp_path, "move"), MOVE, tokens, offsets, np.arange(5), "fp")
    tg = load_tokens(tmp_path, "move", check=False)
    assert np.array_equal(tg.tokens, tokens) and len(tg) == 5 and tg.fingerprint == "fp"
    assert list(tg.game(4)) == list(tokens[offsets[4]:offsets[5]])
    with pytest.raises(ValueError, match="single positions"):
        tokenize_games(recs, BOARD)


def test_measure_throughput_counts_tokens_and_items():
    from minitranscend.tokenizers import measure_throughput

    games = [[m.uci() for m in random_game(s, 40).move_stack] for s in range(3)]
    n_plies = sum(len(g) for g in games)
    char = measure_throughput(games, CHAR)
    assert char["items"] == 3 and char["unit"] == "games"
    assert char["tokens"] == sum(len(CHAR.encode_game(g)) for g in games)
    move = measure_throughput(games, MOVE)
    assert move["tokens"] == n_plies + 3  # one token per ply plus <bos> per game
    board = measure_throughput(games, BOARD)
    assert board["items"] == n_plies and board["tokens"] == 70 * n_plies
    assert board["unit"] == "positions"
    for r in (char, move, board):
        assert r["seconds"] > 0 and r["tokens_per_s"] == pytest.approx(r["tokens"] / r["seconds"])


@settings(max_examples=60, deadline=None)
@given(games, st.integers(1, 6), st.booleans())
def test_history_tokens_are_the_movers_own_last_moves(board: chess.Board, history: int,
                                                      canonical: bool):
    tok = BoardTokenizer(canonical=canonical, history=history)
    ids = tok.encode_board(board)
    assert len(ids) == tok.seq_len == 70 + 2 * history and max(ids) < tok.vocab_size
    assert ids[:70] == BoardTokenizer(canonical=canonical).encode_board(board)  # board unchanged
    assert tok.decode_board(ids).epd() == (board.mirror() if tok.mirrored(board) else board).epd()
    # the same moves found by replaying the game by hand: plies -2, -4, ... from the end
    replay, expected = chess.Board(), []
    for move in board.move_stack:
        expected.append((replay.turn, replay.piece_type_at(move.from_square), move))
        replay.push(move)
    mine = [(p, m) for turn, p, m in reversed(expected) if turn == board.turn][:history]
    assert tok.recent_moves(board) == mine
    for k, (piece, move) in enumerate(mine):
        sq = chess.square_mirror(move.to_square) if tok.mirrored(board) else move.to_square
        assert tok.vocab[ids[70 + 2 * k]] == "h:" + chess.piece_symbol(piece).upper()
        assert tok.vocab[ids[71 + 2 * k]] == "s:" + chess.square_name(sq)
    assert all(tok.vocab[i] in ("h:-", "s:-") for i in ids[70 + 2 * len(mine):])
    assert tokenizer_from_dict(tok.to_dict()) == tok
    assert tok.encode_board(chess.Board(board.fen()))[70:] == [tok.vocab.index("h:-"),
                                                              tok.vocab.index("s:-")] * history


def test_history_in_training_pairs_matches_the_stack():
    from minitranscend.train.dataset import _board_pairs, make_tokenizer

    board = random_game(11, max_plies=40)
    rec = GameRecord(id=0, white="a", black="b", result="1/2-1/2",
                     termination="unterminated", uci=" ".join(m.uci() for m in board.move_stack))
    tok = make_tokenizer("board", canonical=True, history=3)
    x, y, _ = _board_pairs([rec], tok)
    replay = chess.Board()
    for i, move in enumerate(board.move_stack):
        assert list(x[i]) == tok.encode_board(replay)  # incremental history == from the stack
        replay.push(move)
    assert BoardTokenizer().to_dict() == BOARD.to_dict() and "history" not in BOARD.to_dict()
    with pytest.raises(ValueError, match="needs the board tokenizer"):
        make_tokenizer("move", history=2)
