"""Three ways to turn chess into tokens, behind one small interface.

* :class:`CharTokenizer` — the paper's 32-character vocabulary over SAN text
  ``;1.e4 e5 2.Nf3 Nc6`` (a ``;`` starts each game, no space after move numbers, moves
  separated by one space, SAN exactly as python-chess writes it, never a result). A model over
  it must learn notation, legality and the board from characters: faithful to the paper, slow to
  learn.
* :class:`MoveTokenizer` — one token per UCI move that can ever be legal (1968) plus ``<pad>``
  and ``<bos>``: a game of ~100 plies is ~100 tokens instead of ~600 characters, and every
  model output is a move, so a legality mask is one index operation.
* :class:`BoardTokenizer` — a position as 70 tokens (64 squares, side to move, four castling
  rights, en-passant file) for a board-input model whose output head is the MoveTokenizer's
  vocabulary: it does not have to reconstruct the board from the history.

Every tokenizer has ``name``, ``vocab`` (list of token strings; the id is the index),
``vocab_size``, ``encode``/``decode`` (in its own domain: text, moves, board), and
``to_dict()``/``from_dict()`` so a checkpoint records the exact vocabulary it was trained with
(:func:`tokenizer_from_dict` rebuilds it and fails loudly on a mismatch).

Datasets are tokenized once into the "compact tokenized form" — one flat ``uint16`` token array
and ``int64`` offsets (game i is ``tokens[offsets[i]:offsets[i+1]]``) — saved as
``tokens-<name>.npz`` beside the shards (:func:`tokenize_dataset`, :func:`load_tokens`).

Imports go one way: this module reads game records through :mod:`minitranscend.data.records`
(which imports nothing of ours), so the data commands that tokenize what they generate
(:mod:`minitranscend.data.generate`, ``.lichess``, ``.cli``) can import this module at the top.
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import chess
import numpy as np
from tqdm.auto import tqdm

from .data.records import fingerprint, iter_games
from .store import atomic_write_bytes

MoveLike = chess.Move | str


def _as_move(m: MoveLike) -> chess.Move:
    return chess.Move.from_uci(m) if isinstance(m, str) else m


class Tokenizer:
    """Common part: name, vocabulary, (de)serialization for checkpoints."""

    name: str = ""
    vocab: list[str]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "vocab": list(self.vocab)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Tokenizer":
        tok = cls()
        if d.get("name") != tok.name:
            raise ValueError(f"tokenizer dict is for {d.get('name')!r}, not {tok.name!r}")
        if list(d.get("vocab", [])) != tok.vocab:
            raise ValueError(
                f"the saved {tok.name!r} vocabulary differs from this version's "
                f"({len(d.get('vocab', []))} vs {tok.vocab_size} tokens): the checkpoint was made with "
                "another version of minitranscend.tokenizers; retrain or install that version.")
        return tok

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.vocab_size))


# == characters ====================================================================================
CHAR_VOCAB = " #+-.0123456789;=BKNOQRabcdefghx"
assert len(CHAR_VOCAB) == 32


def _replay(moves: Iterable[MoveLike]) -> chess.Board:
    board = chess.Board()
    for m in moves:
        board.push(_as_move(m))
    return board


class CharTokenizer(Tokenizer):
    """The paper's character tokenizer: id = position in ``' #+-.0123456789;=BKNOQRabcdefghx'``.

    Used in chapter 3."""

    name = "char"

    def __init__(self) -> None:
        self.vocab = list(CHAR_VOCAB)
        self._lut = np.full(256, 255, dtype=np.uint8)
        for i, c in enumerate(CHAR_VOCAB):
            self._lut[ord(c)] = i
        self._chars = np.frombuffer(CHAR_VOCAB.encode("ascii"), dtype=np.uint8)

    # -- text <-> ids -------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def encode_array(self, text: str) -> np.ndarray:
        """``uint8`` ids; ValueError naming the first character outside the vocabulary."""
        try:
            raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        except UnicodeEncodeError as e:
            raise ValueError(f"character {text[e.start]!r} at position {e.start} is not in the "
                             f"32-character chess vocabulary {CHAR_VOCAB!r}") from None
        ids = self._lut[raw]
        bad = np.flatnonzero(ids == 255)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"character {text[i]!r} at position {i} is not in the 32-character "
                             f"chess vocabulary {CHAR_VOCAB!r}")
        return ids

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(CHAR_VOCAB)):
            raise ValueError(f"token id out of range 0..{len(CHAR_VOCAB) - 1}: {arr[(arr < 0) | (arr >= 32)][0]}")
        return self._chars[arr].tobytes().decode("ascii")

    # -- games <-> text -----------------------------------------------------------------------
    @staticmethod
    def game_text(moves: Iterable[MoveLike]) -> str:
        """``;1.e4 e5 2.Nf3 Nc6`` for a game from the standard start (no result, ever)."""
        board = chess.Board()
        parts = [";"]
        for i, m in enumerate(moves):
            move = _as_move(m)
            if board.turn == chess.WHITE:
                parts.append(f"{' ' if i else ''}{board.fullmove_number}.{board.san_and_push(move)}")
            else:
                parts.append(" " + board.san_and_push(move))
        return "".join(parts)

    @staticmethod
    def prefix_text(board: chess.Board) -> str:
        """The text a model sees before choosing the next move of ``board``: the game so far,
        then ``' N.'`` before a white move or ``' '`` before a black move
        (``';1.'``, ``';1.e4 '``, ``';1.e4 e5 2.'``)."""
        stack = board.move_stack
        text = CharTokenizer.game_text(stack)
        if stack and _replay(stack).epd() != board.epd():
            raise ValueError("prefix_text needs a board played from the standard starting position "
                             "(its move_stack must be the whole game)")
        if board.turn == chess.WHITE:
            return f"{text}{' ' if stack else ''}{board.fullmove_number}."
        return text + " "

    @staticmethod
    def move_suffix(board: chess.Board, move: chess.Move) -> str:
        """The characters that spell ``move`` after :meth:`prefix_text`: SAN plus the terminating
        space. p(move) under a character model is the product of their probabilities."""
        if not board.is_legal(move):
            raise ValueError(f"move {move.uci()} is illegal in {board.fen()}")
        return board.san(move) + " "

    @staticmethod
    def parse_game_text(text: str, strict: bool = False) -> list[chess.Move]:
        """Inverse of :meth:`game_text` (also accepts a :meth:`prefix_text`: a trailing space or a
        dangling move number). ValueError names the bad token and its character position.
        ``strict=True`` also requires each move in python-chess's exact SAN spelling."""
        if not text.startswith(";"):
            raise ValueError(f"game text must start with ';', got {text[:10]!r}")
        board = chess.Board()
        moves: list[chess.Move] = []
        body = text[1:]
        if body.endswith(" "):
            body = body[:-1]
        if not body:
            return moves
        pos = 1
        tokens = body.split(" ")
        for t_index, token in enumerate(tokens):
            last = t_index == len(tokens) - 1
            san, san_pos = token, pos
            if board.turn == chess.WHITE:
                number = f"{board.fullmove_number}."
                if not token.startswith(number):
                    raise ValueError(f"expected move number {number!r} at character {pos}, got {token!r}")
                san, san_pos = token[len(number):], pos + len(number)
                if not san and last:
                    break  # a prefix text ending in a move number
            if not san:
                raise ValueError(f"empty move at character {san_pos} (two spaces?) in {text[:san_pos + 5]!r}")
            try:
                move = board.parse_san(san)
            except ValueError as e:
                raise ValueError(f"move {san!r} at character {san_pos} (ply {len(moves) + 1}) is "
                                 f"illegal or unparsable in {board.fen()}: {e}") from None
            if strict and board.san(move) != san:
                raise ValueError(f"move {san!r} at character {san_pos} is not written as python-chess "
                                 f"writes it ({board.san(move)!r})")
            board.push(move)
            moves.append(move)
            pos += len(token) + 1
        return moves

    def encode_game(self, moves: Iterable[MoveLike]) -> list[int]:
        return self.encode(self.game_text(moves))

    def encode_game_array(self, moves: Iterable[MoveLike]) -> np.ndarray:
        return self.encode_array(self.game_text(moves))

    def decode_game(self, ids: Sequence[int] | np.ndarray) -> list[chess.Move]:
        return self.parse_game_text(self.decode(ids))


# == moves =========================================================================================
MOVE_SPECIALS = ("<pad>", "<bos>")
PAD_ID, BOS_ID = 0, 1
_PROMOTIONS = (chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN)


def all_uci_moves() -> list[str]:
    """Every move that can ever be legal in standard chess, as UCI, in a fixed order:
    by from-square, to-square (python-chess square order a1=0 .. h8=63), then plain before
    promotions n, b, r, q. Queen-like and knight-like moves from every square (1792; castling is
    the king's two-square move) plus pawn promotions, straight or capturing, to every piece (176)."""
    out: list[str] = []
    for f in chess.SQUARES:
        fx, fy = chess.square_file(f), chess.square_rank(f)
        for t in chess.SQUARES:
            if t == f:
                continue
            tx, ty = chess.square_file(t), chess.square_rank(t)
            dx, dy = abs(tx - fx), abs(ty - fy)
            if dx == 0 or dy == 0 or dx == dy or {dx, dy} == {1, 2}:
                out.append(chess.Move(f, t).uci())
            if dx <= 1 and ((fy == 6 and ty == 7) or (fy == 1 and ty == 0)):
                out.extend(chess.Move(f, t, promotion=p).uci() for p in _PROMOTIONS)
    return out


class MoveTokenizer(Tokenizer):
    """One token per possible UCI move; ``<pad>`` = 0 and ``<bos>`` (game start) = 1.

    Used in chapter 3."""

    name = "move"
    pad_id = PAD_ID
    bos_id = BOS_ID

    def __init__(self) -> None:
        self.vocab = [*MOVE_SPECIALS, *all_uci_moves()]
        self._index = {u: i for i, u in enumerate(self.vocab)}
        for s in MOVE_SPECIALS:
            del self._index[s]

    @property
    def n_moves(self) -> int:
        return len(self.vocab) - len(MOVE_SPECIALS)

    def encode_move(self, move: MoveLike) -> int:
        uci = move if isinstance(move, str) else move.uci()
        try:
            return self._index[uci]
        except KeyError:
            raise ValueError(f"move {uci!r} is not in the move vocabulary (not a move that can "
                             "occur in standard chess)") from None

    def decode_move(self, token_id: int) -> chess.Move:
        if not len(MOVE_SPECIALS) <= token_id < len(self.vocab):
            raise ValueError(f"token id {token_id} is not a move (specials are {MOVE_SPECIALS}, "
                             f"moves are {len(MOVE_SPECIALS)}..{len(self.vocab) - 1})")
        return chess.Move.from_uci(self.vocab[token_id])

    def encode(self, moves: Iterable[MoveLike]) -> list[int]:
        return [self.encode_move(m) for m in moves]

    def decode(self, ids: Iterable[int]) -> list[chess.Move]:
        """Moves of ``ids``, skipping ``<pad>`` and ``<bos>``."""
        return [self.decode_move(int(i)) for i in ids if int(i) >= len(MOVE_SPECIALS)]

    def encode_game(self, moves: Iterable[MoveLike]) -> list[int]:
        """``[<bos>, move ids...]``: the model predicts the first move from ``<bos>``."""
        return [BOS_ID, *self.encode(moves)]

    def encode_game_array(self, moves: Iterable[MoveLike]) -> np.ndarray:
        return np.asarray(self.encode_game(moves), dtype=np.uint16)

    decode_game = decode

    def legal_ids(self, board: chess.Board) -> list[int]:
        """Token ids of the legal moves (build a legality mask from them)."""
        return [self._index[m.uci()] for m in board.legal_moves]

    def legal_mask(self, board: chess.Board) -> np.ndarray:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self.legal_ids(board)] = True
        return mask


# == boards ========================================================================================
_PIECE_TOKENS = (".", "P", "N", "B", "R", "Q", "K", "p", "n", "b", "r", "q", "k")
_TURN_TOKENS = ("to-move:w", "to-move:b")
_CASTLE_KEYS = ("K", "Q", "k", "q")
_CASTLE_SQUARES = {"K": chess.H1, "Q": chess.A1, "k": chess.H8, "q": chess.A8}
_EP_TOKENS = ("ep:-", *(f"ep:{f}" for f in chess.FILE_NAMES))


class BoardTokenizer(Tokenizer):
    """A position as :attr:`seq_len` = 70 tokens: squares a1..h8 (piece letter or ``.``), side to
    move, castling rights K, Q, k, q (``+``/``-``), en-passant file (only when an en-passant
    capture is legal, as in FEN). The move is predicted over :class:`MoveTokenizer`'s vocabulary
    (:attr:`move_tokenizer`). Repetition counts and move clocks are not encoded.

    ``canonical=True`` encodes every position from the mover's side: when black is to move the
    board is mirrored (``board.mirror()``: ranks flipped, colours swapped), so the model always
    plays "white" and need not learn each pattern twice. Move ids then refer to the mirrored
    board too; always go through :meth:`move_id` / :meth:`move_ids` / :meth:`decode_move_id`,
    which un-mirror.

    ``history=N`` appends the mover's own last N moves, most recent first, two tokens each: the
    piece type it moved and the square it moved to (mirrored like the board; ``h:-`` ``s:-`` before
    the game had them). A board alone cannot say *who* is moving; the mover's recent moves can
    (an expert who loves its king moves its king), which is what chapter 7's history model is
    for. They are read from ``board.move_stack``: a board set up from a FEN has none.

    Used in chapters 3 and 7.
    """

    name = "board"
    BOARD_TOKENS = 64 + 1 + 4 + 1
    seq_len = BOARD_TOKENS

    def __init__(self, canonical: bool = False, history: int = 0) -> None:
        if history < 0:
            raise ValueError(f"history must be >= 0 moves, got {history}")
        self.canonical = bool(canonical)
        self.history = int(history)
        castle = [f"{k}:{v}" for k in _CASTLE_KEYS for v in "-+"]
        self.vocab = [*_PIECE_TOKENS, *_TURN_TOKENS, *castle, *_EP_TOKENS]
        self._piece_id = {s: i for i, s in enumerate(_PIECE_TOKENS)}
        self._turn0 = len(_PIECE_TOKENS)
        self._castle0 = self._turn0 + 2
        self._ep0 = self._castle0 + 8
        self._hist0 = len(self.vocab)          # h:- then h:P .. h:K (piece type 1..6)
        self._sq0 = self._hist0 + 7            # s:- then s:a1 .. s:h8
        if self.history:  # absent without history: older checkpoints keep their vocabulary
            self.vocab += ["h:-", *(f"h:{chess.piece_symbol(t).upper()}" for t in chess.PIECE_TYPES),
                           "s:-", *(f"s:{n}" for n in chess.SQUARE_NAMES)]
        self.seq_len = self.BOARD_TOKENS + 2 * self.history
        self.move_tokenizer = MoveTokenizer()

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.canonical:  # absent when False: older checkpoints stay loadable and equal
            d["canonical"] = True
        if self.history:
            d["history"] = self.history
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BoardTokenizer":
        if d.get("name") != cls.name:
            raise ValueError(f"tokenizer dict is for {d.get('name')!r}, not {cls.name!r}")
        tok = cls(canonical=bool(d.get("canonical", False)), history=int(d.get("history", 0)))
        if list(d.get("vocab", [])) != tok.vocab:
            raise ValueError(
                f"the saved 'board' vocabulary differs from this version's ({len(d.get('vocab', []))} "
                f"vs {tok.vocab_size} tokens): the checkpoint was made with another version of "
                "minitranscend.tokenizers; retrain or install that version.")
        return tok

    def __repr__(self) -> str:
        extra = f", history={self.history}" if self.history else ""
        return f"BoardTokenizer(canonical={self.canonical}{extra})"

    def recent_moves(self, board: chess.Board) -> list[tuple[chess.PieceType, chess.Move]]:
        """The mover's own last :attr:`history` moves in ``board``'s move stack, most recent
        first, each with the type of the piece it moved (fewer near the game's start)."""
        if not self.history:
            return []
        b = board.copy(stack=2 * self.history)
        out = []
        for i in range(len(b.move_stack)):
            move = b.pop()
            if i % 2 == 1:  # plies -2, -4, ...: the side to move in ``board``
                out.append((b.piece_type_at(move.from_square), move))
        return out

    def mirrored(self, board: chess.Board) -> bool:
        """Whether this position is encoded mirrored (canonical and black to move)."""
        return self.canonical and board.turn == chess.BLACK

    def move_id(self, board: chess.Board, move: MoveLike) -> int:
        """The output id of ``move`` played in ``board`` (mirrored like the board)."""
        move = _as_move(move)
        if self.mirrored(board):
            move = chess.Move(chess.square_mirror(move.from_square), chess.square_mirror(move.to_square),
                              move.promotion)
        return self.move_tokenizer.encode_move(move)

    def move_ids(self, board: chess.Board, moves: Iterable[MoveLike] | None = None) -> list[int]:
        """Output ids of ``moves`` (default: the legal moves, in ``board.legal_moves`` order)."""
        moves = board.legal_moves if moves is None else moves
        return [self.move_id(board, m) for m in moves]

    def decode_move_id(self, board: chess.Board, token_id: int) -> chess.Move:
        """Inverse of :meth:`move_id`: the real move in ``board`` that output ``token_id`` means."""
        move = self.move_tokenizer.decode_move(token_id)
        if self.mirrored(board):
            move = chess.Move(chess.square_mirror(move.from_square), chess.square_mirror(move.to_square),
                              move.promotion)
        return move

    def encode_board(self, board: chess.Board,
                     recent: Sequence[tuple[chess.PieceType, chess.Move]] | None = None) -> list[int]:
        """The token ids of ``board`` (and, with :attr:`history`, of the mover's ``recent``
        moves: default :meth:`recent_moves`; a caller replaying a game passes them to save
        the lookup)."""
        tail = self._history_ids(board, recent) if self.history else []
        if self.mirrored(board):
            board = board.mirror()
        # Bitboards rather than piece_map(): this runs once per training position.
        ids = [0] * 64
        for color, offset in ((chess.WHITE, 0), (chess.BLACK, 6)):
            occ = board.occupied_co[color]
            for pt in chess.PIECE_TYPES:
                for sq in chess.scan_forward(board.pieces_mask(pt, color) & occ):
                    ids[sq] = offset + pt
        ids.append(self._turn0 + (0 if board.turn == chess.WHITE else 1))
        rights = board.clean_castling_rights()
        for j, k in enumerate(_CASTLE_KEYS):
            ids.append(self._castle0 + 2 * j + int(bool(rights & chess.BB_SQUARES[_CASTLE_SQUARES[k]])))
        ep = board.ep_square if board.ep_square is not None and board.has_legal_en_passant() else None
        ids.append(self._ep0 + (0 if ep is None else 1 + chess.square_file(ep)))
        return ids + tail

    def _history_ids(self, board: chess.Board,
                     recent: Sequence[tuple[chess.PieceType, chess.Move]] | None) -> list[int]:
        recent = self.recent_moves(board) if recent is None else recent
        mirror = self.mirrored(board)
        ids = []
        for piece, move in list(recent)[:self.history]:
            to = chess.square_mirror(move.to_square) if mirror else move.to_square
            ids += [self._hist0 + piece, self._sq0 + 1 + to]
        ids += [self._hist0, self._sq0] * (self.history - len(ids) // 2)
        return ids

    encode = encode_board

    def encode_array(self, board: chess.Board) -> np.ndarray:
        return np.asarray(self.encode_board(board), dtype=np.uint8)

    def decode_board(self, ids: Sequence[int] | np.ndarray) -> chess.Board:
        """The position of an encoding (for a canonical black-to-move position: its mirror)."""
        ids = [int(i) for i in ids]
        if len(ids) != self.seq_len:
            raise ValueError(f"a board is {self.seq_len} tokens, got {len(ids)}")
        ids = ids[:self.BOARD_TOKENS]  # the history, if any, is not part of the position

        def expect(i: int, lo: int, n: int, what: str) -> int:
            if not lo <= ids[i] < lo + n:
                raise ValueError(f"token {i} should be a {what} token, got id {ids[i]}"
                                 f" ({self.vocab[ids[i]] if 0 <= ids[i] < self.vocab_size else '?'})")
            return ids[i] - lo

        board = chess.Board.empty()
        for sq in range(64):
            p = expect(sq, 0, len(_PIECE_TOKENS), "square")
            if p:
                board.set_piece_at(sq, chess.Piece.from_symbol(_PIECE_TOKENS[p]))
        board.turn = chess.WHITE if expect(64, self._turn0, 2, "side-to-move") == 0 else chess.BLACK
        rights = 0
        for j, k in enumerate(_CASTLE_KEYS):
            v = expect(65 + j, self._castle0 + 2 * j, 2, f"castling {k}")
            if v:
                rights |= chess.BB_SQUARES[_CASTLE_SQUARES[k]]
        board.castling_rights = rights
        ep = expect(69, self._ep0, 9, "en-passant")
        if ep:
            rank = 5 if board.turn == chess.WHITE else 2
            board.ep_square = chess.square(ep - 1, rank)
        return board

    decode = decode_board


TOKENIZERS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "move": MoveTokenizer,
                                          "board": BoardTokenizer}


def get_tokenizer(name: str, **options: Any) -> Tokenizer:
    """A tokenizer by name; ``options`` go to its constructor (``canonical=True`` for "board").

    Used in chapter 4."""
    try:
        return TOKENIZERS[name](**options)
    except KeyError:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of {sorted(TOKENIZERS)}") from None


def tokenizer_from_dict(d: dict[str, Any]) -> Tokenizer:
    """Rebuild the tokenizer saved with a checkpoint (``tok.to_dict()``), checking its vocabulary."""
    name = d.get("name")
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r} in saved dict; known: {sorted(TOKENIZERS)}")
    return TOKENIZERS[name].from_dict(d)


# == datasets in compact tokenized form ==========================================================
def _record_moves(game: Any) -> list[MoveLike]:
    """UCI strings of a GameRecord, or a plain list of moves as given."""
    if hasattr(game, "uci_moves"):
        return game.uci_moves
    return list(game)


def tokenize_games(games: Iterable[Any], tokenizer: Tokenizer,
                   progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Flat ``uint16`` tokens and ``int64`` offsets (length n_games + 1) for game-level tokenizers.

    ``games`` are GameRecords or move lists. Game i is ``tokens[offsets[i]:offsets[i + 1]]``:
    ``<bos>`` + moves for the move tokenizer, the ``;1.e4 ...`` text for the char tokenizer.

    Used in chapter 3.
    """
    if not hasattr(tokenizer, "encode_game_array"):
        raise ValueError(f"the {tokenizer.name!r} tokenizer encodes single positions, not games; "
                         "tokenize boards on the fly with BoardTokenizer.encode_board")
    chunks, lengths = [], [0]
    for g in tqdm(games, desc=f"tokenize {tokenizer.name}", unit="game", disable=not progress):
        a = tokenizer.encode_game_array(_record_moves(g))  # type: ignore[attr-defined]
        chunks.append(a)
        lengths.append(len(a))
    tokens = np.concatenate(chunks).astype(np.uint16) if chunks else np.zeros(0, np.uint16)
    return tokens, np.cumsum(lengths, dtype=np.int64)


@dataclass
class TokenizedGames:
    """A dataset in compact tokenized form (see :func:`tokenize_games`)."""

    tokens: np.ndarray
    offsets: np.ndarray
    game_ids: np.ndarray
    tokenizer: Tokenizer
    fingerprint: str

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def game(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]:self.offsets[i + 1]]


def tokens_path(data_dir: str | os.PathLike, name: str) -> Path:
    return Path(data_dir) / f"tokens-{name}.npz"


def save_tokens(path: str | os.PathLike, tokenizer: Tokenizer, tokens: np.ndarray,
                offsets: np.ndarray, game_ids: np.ndarray, fingerprint: str = "") -> Path:
    path = Path(path)
    buf = io.BytesIO()
    np.savez(buf, tokens=tokens.astype(np.uint16), offsets=offsets.astype(np.int64),
             game_ids=np.asarray(game_ids, dtype=np.int64),
             tokenizer=np.array(json.dumps(tokenizer.to_dict())), fingerprint=np.array(fingerprint))
    atomic_write_bytes(path, buf.getvalue())
    return path


def tokenize_dataset(data_dir: str | os.PathLike, tokenizer: Tokenizer | str,
                     progress: bool = True) -> Path:
    """Tokenize every game of a shard directory into ``tokens-<name>.npz`` beside the shards."""
    tok = get_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
    ids: list[int] = []

    def games():
        for g in iter_games(data_dir):
            ids.append(g.id)
            yield g

    tokens, offsets = tokenize_games(games(), tok, progress=progress)
    return save_tokens(tokens_path(data_dir, tok.name), tok, tokens, offsets, np.asarray(ids),
                       fingerprint(data_dir))


def load_tokens(data_dir: str | os.PathLike, name: str, check: bool = True) -> TokenizedGames:
    """Load ``tokens-<name>.npz``; with ``check`` refuse a file made from other shards than the
    current ones (it would silently train on stale data).

    Used in chapter 3.
    """
    path = tokens_path(data_dir, name)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; create it with "
                                f"`minitranscend data tokenize --tokenizer {name} --data {data_dir}`")
    with np.load(path) as z:
        tg = TokenizedGames(tokens=z["tokens"], offsets=z["offsets"], game_ids=z["game_ids"],
                            tokenizer=tokenizer_from_dict(json.loads(str(z["tokenizer"]))),
                            fingerprint=str(z["fingerprint"]))
    if check:
        current = fingerprint(data_dir)
        if current != tg.fingerprint:
            raise ValueError(f"{path} was made from different shards than those now in {data_dir}; "
                             f"re-run `minitranscend data tokenize --tokenizer {name} --data {data_dir}`")
    return tg


# == speed =========================================================================================
def measure_throughput(games: Sequence[Any], tokenizer: Tokenizer) -> dict[str, Any]:
    """Tokenize ``games`` (GameRecords or move lists) once and time it: ``{"tokenizer", "tokens",
    "items", "unit", "seconds", "tokens_per_s", "items_per_s"}``.

    Game-level tokenizers count games; the board tokenizer encodes every position before each
    move (as training on boards does) and counts positions. Measured, not estimated, because the
    cost is dominated by python-chess (SAN needs legal-move generation), which varies by machine.
    ``seconds`` is this process's CPU time (tokenizing is single-threaded), so other work on a
    shared machine does not distort the rate as wall-clock time would.

    Used in chapter 3.
    """
    t0 = time.process_time()
    if isinstance(tokenizer, BoardTokenizer):
        items = 0
        for g in games:
            board = chess.Board()
            for m in _record_moves(g):
                tokenizer.encode_board(board)
                board.push(_as_move(m))
                items += 1
        n_tokens, unit = items * tokenizer.seq_len, "positions"
    else:
        tokens, _ = tokenize_games(games, tokenizer)
        n_tokens, items, unit = len(tokens), len(games), "games"
    seconds = max(time.process_time() - t0, 1e-9)
    return {"tokenizer": tokenizer.name, "tokens": n_tokens, "items": items, "unit": unit,
            "seconds": seconds, "tokens_per_s": n_tokens / seconds, "items_per_s": items / seconds}
