"""The exercise checkers of chapters 2 (chess data) and 3 (tokenizers): right answers pass,
typical wrong answers fail with a message that says what is wrong."""
import chess
import numpy as np

from minitranscend import exercises as ex
from minitranscend.tokenizers import CharTokenizer, MoveTokenizer


# -- chapter 2 ----------------------------------------------------------------------------------
def uci_to_san(uci_moves):
    board = chess.Board()
    return [board.san_and_push(chess.Move.from_uci(u)) for u in uci_moves]


def test_uci_to_san_cases_cover_the_hard_san_cases():
    games = ex._uci_to_san_cases()
    sans = [s for g in games for s in uci_to_san(g)]
    for needle in ("+", "#", "O-O", "O-O-O", "=Q", "Ncb5", "x"):
        assert any(needle in s for s in sans), needle
    assert ex._random_games(15, seed=2) == ex._random_games(15, seed=2)  # deterministic
    assert uci_to_san(games[0]) == "e4 e5 Qh5 Nc6 Bc4 Nf6 Qxf7#".split()


def test_uci_to_san_accepts_the_solution():
    ok, msg = ex.check_uci_to_san(uci_to_san)
    assert ok, msg
    assert "20 games" in msg


def test_uci_to_san_rejects_dropped_check_signs_and_uci():
    ok, msg = ex.check_uci_to_san(lambda u: [s.rstrip("+#") for s in uci_to_san(u)])
    assert not ok and "'+'" in msg
    ok, msg = ex.check_uci_to_san(lambda u: list(u))
    assert not ok and "UCI spelling" in msg
    ok, msg = ex.check_uci_to_san(lambda u: None)
    assert not ok and "returned None" in msg
    ok, msg = ex.check_uci_to_san(lambda u: 1 / 0)
    assert not ok and "ZeroDivisionError" in msg


def my_keep(headers, cap):
    if headers.get("Result") not in ("1-0", "0-1", "1/2-1/2"):
        return False
    elos = [headers.get("WhiteElo", ""), headers.get("BlackElo", "")]
    if not all(e.strip().isdigit() for e in elos):
        return False
    return max(int(e) for e in elos) <= cap


def test_rating_filter_accepts_the_solution():
    ok, msg = ex.check_rating_filter(my_keep)
    assert ok, msg


def test_rating_filter_matches_the_lichess_reader(tmp_path):
    """The checker's notion of 'kept' is the one read_lichess applies."""
    from minitranscend.data.lichess import read_lichess

    text = ""
    for headers, _, _ in ex._FILTER_CASES:
        text += "".join(f'[{k} "{v}"]\n' for k, v in headers.items())
        text += f"\n1. e4 e5 {headers.get('Result', '*')}\n\n"
    path = tmp_path / "cases.pgn"
    path.write_text(text)
    for cap in (1000, 1300, 1500):
        games, counts = read_lichess(path, max_elo=cap)
        kept = len(list(games))
        assert kept == sum(ex._paper_keeps(h, cap) for h, _, _ in ex._FILTER_CASES)
    assert counts["read"] == len(ex._FILTER_CASES)


def test_rating_filter_rejects_common_mistakes():
    ok, msg = ex.check_rating_filter(lambda h, cap: min(int(h["WhiteElo"]), int(h["BlackElo"])) <= cap)
    assert not ok  # min instead of max; raises on '?'
    ok, msg = ex.check_rating_filter(
        lambda h, cap: h.get("Result") != "*" and max(int(h["WhiteElo"]), int(h["BlackElo"])) < cap)
    assert not ok and "exactly at the cap" in msg and "drops" in msg
    ok, msg = ex.check_rating_filter(lambda h, cap: True)
    assert not ok and "should be dropped" in msg


def test_state_entropy():
    assert ex.check_state_entropy(0.865)[0]
    ok, msg = ex.check_state_entropy(0.950)
    assert not ok and "entropy itself" in msg
    ok, msg = ex.check_state_entropy(0.5)
    assert not ok and "(0.6, 0.2, 0.2)" in msg
    assert not ex.check_state_entropy(None)[0]


# -- chapter 3 ----------------------------------------------------------------------------------
def test_token_counts():
    ok, msg = ex.check_token_counts(24, 6)
    assert ok, msg
    assert len(";1.e4 e5 2.Nf3 Nc6 3.Bb5") == 24
    ok, msg = ex.check_token_counts(23, 5)
    assert not ok and "';'" in msg and "<bos>" in msg
    ok, msg = ex.check_token_counts(24, 5)
    assert not ok and "<bos>" in msg and "characters" not in msg
    assert not ex.check_token_counts("many", 6)[0]


def test_prefix_text_accepts_the_solution_and_rejects_a_missing_space():
    def prefix(uci_moves):
        board = chess.Board()
        for u in uci_moves:
            board.push_uci(u)
        return CharTokenizer.prefix_text(board)

    ok, msg = ex.check_prefix_text(prefix)
    assert ok, msg
    ok, msg = ex.check_prefix_text(lambda u: prefix(u).rstrip())
    assert not ok and "trailing space" in msg


def masked_argmax(logits, board):
    tok = MoveTokenizer()
    legal = tok.legal_ids(board)
    return tok.decode_move(legal[int(np.argmax(logits[legal]))])


def test_masked_argmax():
    ok, msg = ex.check_masked_argmax(masked_argmax)
    assert ok, msg
    tok = MoveTokenizer()
    ok, msg = ex.check_masked_argmax(lambda logits, board: tok.decode_move(int(np.argmax(logits[2:])) + 2))
    assert not ok and "not legal" in msg
    ok, msg = ex.check_masked_argmax(lambda logits, board: tok.legal_ids(board)[0])
    assert not ok and "chess.Move" in msg
    ok, msg = ex.check_masked_argmax(lambda logits, board: next(iter(board.legal_moves)))
    assert not ok and "scores higher" in msg
