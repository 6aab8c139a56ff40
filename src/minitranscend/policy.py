"""From a trained model to a chess player: exact move distributions, temperature, sampling.

The transcendence effect lives in the *move* distribution, so we compute it exactly rather than
estimating it by sampling:

* move / board tokenizers: one forward pass gives logits over the move vocabulary; the
  distribution is the softmax restricted to the legal moves (``illegal_mass`` = the softmax
  mass the model put on illegal ids before masking). A board model trained with the
  legal-moves-only loss never learned to avoid illegal ids, so its ``illegal_mass`` is large and
  meaningless; only the masked distribution is its policy. A canonical board tokenizer encodes
  black's positions mirrored: the ids are mapped back to the real moves here.
* char tokenizer: ``p(move) = prod_j p(c_j | prefix, c_<j)`` over the characters of
  ``SAN + ' '``; all legal moves are scored in ONE forward pass: the prefix once, followed by
  every candidate's characters at the positions they would have after the prefix, with an
  attention mask that lets each candidate see only the prefix and itself ("tree attention",
  exactly equal to one forward pass per candidate, ~20x cheaper than repeating the prefix);
  log-probs gathered, then normalised over the legal moves.
  ``illegal_mass = 1 - sum`` of the unnormalised legal probabilities: the chance that the
  model's next "word" is not a legal move.

Temperature is applied at the move level, ``p_tau(m) ∝ p(m)^(1/tau)`` (the one operator of
:mod:`minitranscend.temperature`, imported here as :func:`apply_temperature`): this is the
quantity the theory is about. The paper instead samples characters one at a time
at temperature tau and retries illegal output (:func:`sample_char_move`); ``ModelPlayer(mode=
"paper")`` plays that way for comparison, and :func:`move_distribution` with ``char_tau`` gives
its exact per-attempt distribution.

Context: a move-history model sees the game from its first move. When the game is longer than
the model's ``block_size``, only the last ``block_size`` tokens are fed (the model saw such
windows in training, which starts windows anywhere in the packed stream); for the char
tokenizer the prefix is cropped so that prefix + the longest candidate fits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import chess
import numpy as np
import torch
from torch.nn import functional as F

from .player_specs import model_label
from .players import Closing
from .temperature import (apply_temperature, check_tau, log_softmax_at_temperature,
                          softmax_at_temperature)
from .train.checkpoints import load_checkpoint

@dataclass
class MoveDistribution:
    """A distribution over the legal moves of one position."""

    moves: list[chess.Move]
    probs: np.ndarray  # float64, same order as moves, sums to 1
    illegal_mass: float = 0.0  # model mass on illegal outputs before normalisation
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[chess.Move, float]:
        return {m: float(p) for m, p in zip(self.moves, self.probs)}

    def at_temperature(self, tau: float) -> "MoveDistribution":
        return MoveDistribution(self.moves, apply_temperature(self.probs, tau), self.illegal_mass, self.extra)

    def argmax(self) -> chess.Move:
        return self.moves[int(np.argmax(self.probs))]

    def sample(self, rng: np.random.Generator) -> chess.Move:
        return self.moves[int(rng.choice(len(self.moves), p=self.probs))]

    def entropy(self) -> float:
        p = self.probs[self.probs > 0]
        return float(-(p * np.log(p)).sum())


# ---------------------------------------------------------------------------------------------
# exact distributions


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _kind(tokenizer) -> str:
    kind = getattr(tokenizer, "name", None)
    if kind not in ("char", "move", "board"):
        raise ValueError(f"unsupported tokenizer {kind!r}; expected a char, move or board tokenizer")
    return kind


def _check_history(board: chess.Board) -> None:
    if board.root().board_fen() != chess.STARTING_BOARD_FEN or board.root().turn != chess.WHITE:
        raise ValueError("a move-history model needs the game from the standard start: pass a board built by "
                         "pushing the moves from chess.Board(), not one set from a FEN")


def _legal(board: chess.Board) -> list[chess.Move]:
    moves = list(board.legal_moves)
    if not moves:
        raise ValueError(f"no legal moves in {board.fen()} (the game is over)")
    return moves


def _masked(logp_all: torch.Tensor, ids: list[int], moves: list[chess.Move]) -> MoveDistribution:
    """log-softmax over the vocabulary -> distribution over the legal ids."""
    lp = logp_all.double()[torch.tensor(ids, device=logp_all.device)]
    legal_mass = torch.logsumexp(lp, 0)
    probs = torch.exp(lp - legal_mass).cpu().numpy()
    return MoveDistribution(moves, probs / probs.sum(), float(max(0.0, 1.0 - legal_mass.exp().item())))


def _move_ids(tokenizer, board: chess.Board, moves: list[chess.Move]) -> list[int]:
    if hasattr(tokenizer, "move_ids"):  # a board tokenizer: its own ids, mirrored if canonical
        return tokenizer.move_ids(board, moves)
    return [tokenizer.encode_move(m) for m in moves]


@torch.inference_mode()
def _masked_all(logp: torch.Tensor, tokenizer, boards: Sequence[chess.Board]) -> list[MoveDistribution]:
    """Row ``i`` of ``logp`` (log-probabilities over move ids) masked to board ``i``'s legal moves."""
    out = []
    for i, b in enumerate(boards):
        moves = _legal(b)
        out.append(_masked(logp[i], _move_ids(tokenizer, b, moves), moves))
    return out


def _history_distributions(model, tokenizer, boards: Sequence[chess.Board]) -> list[MoveDistribution]:
    """Move tokenizer: right-pad the (cropped) histories; the output head runs only at each
    sequence's last token (the vocabulary is large, the other positions are not needed)."""
    block = model.config.block_size
    seqs = []
    for b in boards:
        _check_history(b)
        seqs.append(tokenizer.encode_game(b.move_stack)[-block:])
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.tensor(s)
    device = _device(model)
    h = model.hidden_states(x.to(device))
    last = torch.tensor([len(s) - 1 for s in seqs], device=device)
    logits = model.lm_head(h[torch.arange(len(seqs), device=device), last])
    return _masked_all(F.log_softmax(logits.float(), dim=-1), tokenizer, boards)


@torch.inference_mode()
def _board_distributions(model, tokenizer, boards: Sequence[chess.Board]) -> list[MoveDistribution]:
    x = torch.tensor([tokenizer.encode_board(b) for b in boards], dtype=torch.long, device=_device(model))
    logits, _ = model(x)
    return _masked_all(F.log_softmax(logits.float(), dim=-1), tokenizer, boards)


def _char_tree(prefix: list[int], suffixes: list[list[int]]):
    """One sequence holding the prefix once and every candidate's input characters after it.

    Returns (tokens, positions, group, score_at, score_tok): ``group`` is -1 for the prefix and
    i for candidate i; candidate i's character j is predicted by the logits at
    ``score_at[i][j]``: the prefix's last token for j = 0, else candidate i's token j - 1.
    """
    P = len(prefix)
    tokens, pos, group = list(prefix), list(range(P)), [-1] * P
    score_at, score_tok = [], []
    for i, s in enumerate(suffixes):
        at = [P - 1]
        for j, c in enumerate(s[:-1]):  # the last character is only a target
            at.append(len(tokens))
            tokens.append(c)
            pos.append(P + j)
            group.append(i)
        score_at.append(at)
        score_tok.append(s)
    return tokens, pos, group, score_at, score_tok


@torch.inference_mode()
def _char_distributions(model, tokenizer, boards: Sequence[chess.Board],
                        char_tau: float | None = None) -> list[MoveDistribution]:
    """Score every legal move's ``SAN + ' '`` after the game prefix: per board ONE sequence
    (prefix once + all candidates, tree attention mask), boards batched together."""
    block = model.config.block_size
    device = _device(model)
    trees, per_board = [], []
    for b in boards:
        _check_history(b)
        moves = _legal(b)
        prefix = tokenizer.encode(tokenizer.prefix_text(b))
        suffixes = [tokenizer.encode(tokenizer.move_suffix(b, m)) for m in moves]
        longest = max(len(s) for s in suffixes)
        keep = block - (longest - 1)
        if keep < 1:
            raise ValueError(f"block_size {block} is too short to score moves of {longest} characters")
        trees.append(_char_tree(prefix[-keep:], suffixes))
        per_board.append(moves)
    T = max(len(t[0]) for t in trees)
    B = len(trees)
    x = torch.zeros(B, T, dtype=torch.long)
    pos = torch.zeros(B, T, dtype=torch.long)
    grp = torch.full((B, T), -2, dtype=torch.long)  # -2: padding
    for i, (tok, p, g, _, _) in enumerate(trees):
        x[i, :len(tok)], pos[i, :len(tok)], grp[i, :len(tok)] = torch.tensor(tok), torch.tensor(p), torch.tensor(g)
    idx = torch.arange(T)
    causal = idx[None, :, None] >= idx[None, None, :]  # (1, q, k)
    same = grp[:, :, None] == grp[:, None, :]
    is_prefix_key = (grp == -1)[:, None, :]
    # a query sees the (earlier) prefix and the earlier tokens of its own group; padding sees itself
    mask = causal & (is_prefix_key | same)
    pad = grp == -2
    mask = mask & ~(pad[:, None, :] & ~same)
    h = model.hidden_states(x.to(device), pos.to(device), mask[:, None].to(device))
    out = []
    for i, ((_, _, _, score_at, score_tok), moves) in enumerate(zip(trees, per_board)):
        flat_at = torch.tensor([a for at in score_at for a in at], device=device)
        flat_tok = torch.tensor([c for s in score_tok for c in s], device=device)
        # every character's softmax (at the paper's per-character temperature), in float64
        logits = model.lm_head(h[i, flat_at]).double().cpu().numpy()
        lp = log_softmax_at_temperature(logits, 1.0 if char_tau is None else char_tau)
        lp_chars = torch.from_numpy(np.take_along_axis(lp, flat_tok.cpu().numpy()[:, None], -1)[:, 0])
        owner = torch.tensor([k for k, s in enumerate(score_tok) for _ in s])
        lp = torch.zeros(len(moves), dtype=torch.float64).index_add_(0, owner, lp_chars)
        total = torch.logsumexp(lp, 0)
        if not torch.isfinite(total):  # char_tau = 0 and greedy decoding spells no legal move
            out.append(MoveDistribution(moves, np.full(len(moves), 1.0 / len(moves)), 1.0,
                                        {"logp_unnormalised": lp.numpy(), "undefined": True}))
            continue
        probs = torch.exp(lp - total).numpy()
        out.append(MoveDistribution(moves, probs / probs.sum(), float(max(0.0, 1.0 - total.exp().item())),
                                    {"logp_unnormalised": lp.numpy()}))
    return out


def move_distributions(model: torch.nn.Module, tokenizer, boards: Sequence[chess.Board],
                       char_tau: float | None = None) -> list[MoveDistribution]:
    """:func:`move_distribution` for many positions, batched for throughput.

    Used in chapter 6."""
    if not boards:
        return []
    was_training = model.training
    model.eval()
    try:
        kind = _kind(tokenizer)
        if kind == "char":
            return _char_distributions(model, tokenizer, boards, char_tau)
        if char_tau is not None:
            raise ValueError("char_tau applies to char tokenizers only")
        if kind == "move":
            return _history_distributions(model, tokenizer, boards)
        return _board_distributions(model, tokenizer, boards)
    finally:
        model.train(was_training)


def move_distribution(model: torch.nn.Module, tokenizer, board: chess.Board,
                      char_tau: float | None = None) -> MoveDistribution:
    """The model's exact probability of every legal move in ``board`` (at temperature 1).

    ``char_tau`` (char tokenizer only): apply the paper's per-character temperature to every
    character's softmax first; the result is then the exact distribution of one sampling attempt
    of :func:`sample_char_move` conditioned on producing a legal move (its ``illegal_mass`` is the
    chance that an attempt fails). Move-level temperature: ``.at_temperature(tau)``.

    Used in chapter 5.
    """
    return move_distributions(model, tokenizer, [board], char_tau)[0]


# ---------------------------------------------------------------------------------------------
# the paper's sampler


@torch.inference_mode()
def sample_char_move(model: torch.nn.Module, tokenizer, board: chess.Board, tau: float,
                     max_chars: int = 10, retries: int = 5,
                     rng: np.random.Generator | None = None) -> chess.Move | None:
    """The paper's way to play: sample up to ``max_chars`` characters one at a time at
    temperature ``tau`` (0 = greedy), read the first space-separated word as SAN, and try again
    up to ``retries`` times in total if it is not a legal move. ``None`` if every attempt failed
    (the paper scores that game as lost). ``tau = 0`` among exactly tied characters draws one
    evenly, as :func:`minitranscend.temperature.softmax_at_temperature` says."""
    tau = check_tau(tau)
    if _kind(tokenizer) != "char":
        raise ValueError("sample_char_move needs a char tokenizer")
    _check_history(board)
    rng = rng if rng is not None else np.random.default_rng()
    model_was_training = model.training
    model.eval()
    block = model.config.block_size
    prefix = tokenizer.encode(tokenizer.prefix_text(board))
    device = _device(model)
    space = tokenizer.encode(" ")[0]
    try:
        for _ in range(retries):
            ids = list(prefix)
            out: list[int] = []
            for _ in range(max_chars):
                logits, _ = model(torch.tensor([ids[-block:]], device=device))
                p = softmax_at_temperature(logits[0, -1].float().cpu().double().numpy(), tau)
                support = np.flatnonzero(p)
                # greedy with one best character draws nothing (the random stream stays as it was)
                c = int(support[0]) if tau == 0 and len(support) == 1 else int(rng.choice(len(p), p=p))
                if c == space and out:
                    break  # the first word is complete
                ids.append(c)
                out.append(c)
            word = tokenizer.decode(out).strip().split(" ")[0] if out else ""
            try:
                return board.parse_san(word)
            except ValueError:
                continue
        return None
    finally:
        model.train(model_was_training)


# ---------------------------------------------------------------------------------------------
# the player


class ModelForfeit(RuntimeError):
    """A paper-mode player produced no legal move in all its attempts: it loses the game."""


PIECE_VALUES = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}


def material(board: chess.Board, color: chess.Color) -> int:
    """Material of ``color`` in pawns (P=1, N=B=3, R=5, Q=9)."""
    return sum(v * len(board.pieces(p, color)) for p, v in PIECE_VALUES.items())


def drawing_moves(board: chess.Board) -> set[chess.Move]:
    """Legal moves after which the game is drawn or the opponent can claim a draw: stalemate,
    insufficient material, a repeated position, or a threefold/fifty-move claim open to the
    opponent (python-chess counts a claim on the repeating move itself, as FIDE does)."""
    out = set()
    for move in board.legal_moves:
        board.push(move)
        try:
            if (board.is_stalemate() or board.is_insufficient_material() or board.is_repetition(2)
                    or board.can_claim_draw()):
                out.add(move)
        finally:
            board.pop()
    return out


def avoid_draws_when_ahead(dist: MoveDistribution, board: chess.Board) -> MoveDistribution:
    """Remove the drawing moves from ``dist`` when the mover is ahead in material (and some
    other move remains), renormalizing the rest.

    Why: a board-input model sees one position and nothing of the game's history, so it cannot
    know that a move repeats a position; near-greedy sampling then shuffles a won game into a
    threefold repetition, or stalemates a bare king it has no notion of mating. Experts and
    Stockfish never need this. It is a play-time rule, applied the same at every temperature, and
    it never touches the per-state reward (which scores the model's own distribution).
    """
    if material(board, board.turn) <= material(board, not board.turn):
        return dist
    bad = drawing_moves(board)
    keep = np.array([m not in bad for m in dist.moves])
    if not bad or not keep.any() or dist.probs[keep].sum() <= 0:
        return dist
    probs = np.where(keep, dist.probs, 0.0)
    return MoveDistribution(dist.moves, probs / probs.sum(), dist.illegal_mass, dist.extra)


class ModelPlayer(Closing):
    """A trained model as a :class:`minitranscend.players.Player`.

    ``mode="move"``: sample from the exact legal-move distribution at move-level temperature
    ``tau`` (``tau = 0``: argmax, random among ties; see :mod:`minitranscend.temperature`).
    ``mode="paper"`` (char tokenizer only): the paper's per-character sampling with retries;
    ``choose`` raises :class:`ModelForfeit` when it fails, which a match scores as a loss.
    ``distribution(board)`` is exact in both modes (for "paper": conditioned on a legal move).
    ``avoid_draws``: apply :func:`avoid_draws_when_ahead` (mode "move" only) — for models that
    cannot see the game's history.

    Used in chapter 5.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, tau: float = 1.0, name: str | None = None,
                 seed: int = 0, mode: str = "move", meta: dict[str, Any] | None = None,
                 max_chars: int = 10, retries: int = 5, avoid_draws: bool = False) -> None:
        if mode not in ("move", "paper"):
            raise ValueError(f"mode must be 'move' or 'paper', got {mode!r}")
        if mode == "paper" and _kind(tokenizer) != "char":
            raise ValueError("mode='paper' samples characters; it needs a char tokenizer")
        self.model, self.tokenizer, self.tau, self.mode = model.eval(), tokenizer, check_tau(tau), mode
        self.name = name or model_label(f"model-{tokenizer.name}", tau)
        self.meta = meta or {}
        self.max_chars, self.retries = max_chars, retries
        self.avoid_draws = bool(avoid_draws)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_checkpoint(cls, path: str, tau: float = 1.0, name: str | None = None, seed: int = 0,
                        mode: str = "move", device: str = "cpu") -> "ModelPlayer":
        model, tokenizer, meta = load_checkpoint(path, device)
        return cls(model, tokenizer, tau, name, seed, mode, meta)

    def new_game(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def choose(self, board: chess.Board) -> chess.Move:
        if self.mode == "paper":
            move = sample_char_move(self.model, self.tokenizer, board, self.tau, self.max_chars,
                                    self.retries, self.rng)
            if move is None:
                raise ModelForfeit(f"{self.name}: no legal move in {self.retries} attempts at {board.fen()}")
            return move
        return self._move_dist(board).sample(self.rng)

    def _move_dist(self, board: chess.Board) -> MoveDistribution:
        dist = move_distribution(self.model, self.tokenizer, board)
        if self.avoid_draws:  # before tempering, so that tau -> 0 picks the best non-drawing move
            dist = avoid_draws_when_ahead(dist, board)
        return dist.at_temperature(self.tau)

    def distribution(self, board: chess.Board) -> dict[chess.Move, float]:
        if self.mode == "paper":
            return move_distribution(self.model, self.tokenizer, board, char_tau=self.tau).as_dict()
        return self._move_dist(board).as_dict()

    def describe(self) -> dict[str, Any]:
        m = self.meta
        return {"type": "model", "name": self.name, "tau": self.tau, "mode": self.mode,
                "avoid_draws": self.avoid_draws,
                "tokenizer": self.tokenizer.name, "params": self.model.num_params(),
                "model_config": {k: v for k, v in vars(self.model.config).items()},
                "checkpoint": m.get("path"), "step": m.get("step"),
                "data_fingerprint": m.get("data_fingerprint"), "minitranscend": m.get("version")}
