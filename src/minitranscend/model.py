"""A compact transformer, nanoGPT style, in two shapes that share every block.

* ``causal=True`` (the default): a decoder-only language model. ``forward(idx, targets)`` returns
  next-token logits at *every* position, shape ``(B, T, vocab_size)``, and the mean cross-entropy
  over the targets that are not ``-1``. This is the paper's ChessFormer (characters or moves in,
  the next character or move out) and what the knowledge-graph chapter trains.
* ``causal=False``: a board encoder. It reads a fixed-length board encoding (all tokens see all
  tokens) and predicts the next move from the position alone over a *different* output
  vocabulary (``out_vocab_size``, the move ids). ``forward`` returns logits of shape
  ``(B, out_vocab_size)`` and targets have shape ``(B,)``. Two output heads
  (``policy_head``):

  - ``"pool"``: mean-pool the hidden states, one linear layer to every move id. It must learn
    1968 unrelated output vectors from the pooled board: slow to learn.
  - ``"fromto"``: the first 64 tokens are the squares a1..h8 (:class:`BoardTokenizer`); each
    square's final state gives a query and a key and ``logit(move) = q(from) . k(to) / sqrt(d)``
    (+ a learned per-piece term on the target square for promotions). A move's logit is built
    from the two squares it connects, so what is learned about a piece on one square transfers
    to every move it makes: this learns many times faster per example.

  ``forward(idx, targets, legal)`` with a boolean ``legal`` mask ``(B, out_vocab_size)`` sets
  the logits of illegal moves to -inf, so the loss is the cross-entropy *among the legal moves*:
  the model spends no capacity on legality, and its probabilities are exactly the masked policy
  used at play time.

Architecture as in the paper's code (nanoGPT): pre-LayerNorm, GELU MLP, learned positions,
no bias, no dropout, input and output embeddings tied when they share a vocabulary. Attention
uses ``F.scaled_dot_product_attention`` so that a GPU gets flash attention for free.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import chess
import torch
import torch.nn as nn
from torch.nn import functional as F

from .temperature import softmax_at_temperature
from .tokenizers import MOVE_SPECIALS, MoveTokenizer

# name -> architecture (block_size is the default context; tokenizers with short sequences pass
# their own). "tiny" trains on a 2-core CPU in minutes; "chessformer-50m" is the paper's model.
# "board-*" are board encoders with the from/to head (train them with the board tokenizer).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(n_layer=4, n_head=4, n_embd=128, block_size=256),
    "small": dict(n_layer=6, n_head=8, n_embd=256, block_size=512),
    "medium": dict(n_layer=8, n_head=8, n_embd=384, block_size=1023),
    "chessformer-50m": dict(n_layer=16, n_head=8, n_embd=512, block_size=1023),
    "board-tiny": dict(n_layer=2, n_head=4, n_embd=64, block_size=70, policy_head="fromto"),
    "board-small": dict(n_layer=6, n_head=8, n_embd=256, block_size=70, policy_head="fromto"),
}
POLICY_HEADS = ("pool", "fromto")


@dataclass
class GPTConfig:
    """The architecture: sizes, context, attention direction, output head.

    Used in chapter 4."""
    vocab_size: int
    block_size: int
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False
    causal: bool = True
    # Output vocabulary of a non-causal (board) model; None means "same as the input vocabulary".
    out_vocab_size: int | None = None
    # Output head of a board model: "pool" (mean-pool + linear) or "fromto" (square pairs).
    policy_head: str = "pool"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if self.causal and self.out_vocab_size not in (None, self.vocab_size):
            raise ValueError("a causal model predicts its own vocabulary; out_vocab_size must be None")
        if self.policy_head not in POLICY_HEADS:
            raise ValueError(f"policy_head must be one of {POLICY_HEADS}, got {self.policy_head!r}")
        if self.policy_head == "fromto" and (self.causal or self.block_size < 64):
            raise ValueError("policy_head='fromto' needs a board model (causal=False) whose first 64 "
                             "tokens are the squares a1..h8 (the board tokenizer)")

    @property
    def n_out(self) -> int:
        return self.out_vocab_size or self.vocab_size

    @classmethod
    def preset(cls, name: str, vocab_size: int, **overrides) -> "GPTConfig":
        """``GPTConfig.preset("tiny", vocab_size=32, block_size=512)``: a named size plus overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(vocab_size=vocab_size, **{**PRESETS[name], **overrides})


class SelfAttention(nn.Module):
    """Multi-head self-attention (causal, or bidirectional for board models).

    Used in chapter 4."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.causal = config.causal

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        # attn_mask (boolean, True = may attend) replaces the causal mask when given
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=self.causal and attn_mask is None)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The block's feed-forward part: Linear, GELU, Linear.

    Used in chapter 4."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).

    Used in chapter 4."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), attn_mask)
        return x + self.mlp(self.ln_2(x))


def fromto_index() -> tuple[torch.Tensor, torch.Tensor]:
    """Where each move id's logit comes from, in the MoveTokenizer's id order.

    Returns ``(pair, promo)``, both ``(n_ids,)`` long: ``pair[id] = from * 64 + to`` indexes the
    flattened 64 x 64 square-pair logits; ``promo[id] = 1 + to * 4 + piece`` (piece 0..3 = n, b,
    r, q) indexes the promotion terms, 0 (a zero column) for plain moves. The two specials
    (``<pad>``, ``<bos>``) get ``pair = -1``; the head gives them -inf.
    """
    tok = MoveTokenizer()
    pair = torch.full((tok.vocab_size,), -1, dtype=torch.long)
    promo = torch.zeros(tok.vocab_size, dtype=torch.long)
    pieces = {"n": 0, "b": 1, "r": 2, "q": 3}
    for i in range(len(MOVE_SPECIALS), tok.vocab_size):
        m = tok.decode_move(i)
        pair[i] = m.from_square * 64 + m.to_square
        if m.promotion:
            promo[i] = 1 + m.to_square * 4 + pieces[chess.piece_symbol(m.promotion)]
    return pair, promo


class FromToHead(nn.Module):
    """``logit(from, to) = q(h_from) . k(h_to) / sqrt(n_embd)`` over the 64 square tokens,
    gathered into move-id order; promotions add ``u_piece . h_to`` (the model can tell a queen
    from an under-promotion).

    Used in chapter 4.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.q = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.k = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.promo = nn.Linear(config.n_embd, 4, bias=False)
        pair, promo = fromto_index()
        if config.n_out != len(pair):
            raise ValueError(f"policy_head='fromto' predicts the {len(pair)} MoveTokenizer ids, "
                             f"but out_vocab_size={config.n_out}")
        self.register_buffer("pair", pair.clamp(min=0), persistent=False)
        self.register_buffer("promo_ix", promo, persistent=False)
        self.register_buffer("special", torch.where(pair < 0, float("-inf"), 0.0), persistent=False)
        self.scale = 1.0 / math.sqrt(config.n_embd)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        sq = h[:, :64]                                                  # (B, 64, C)
        pair = (self.q(sq) @ self.k(sq).transpose(1, 2)) * self.scale   # (B, 64 from, 64 to)
        promo = self.promo(sq).flatten(1)                               # (B, 64 * 4)
        promo = torch.cat([promo.new_zeros(len(promo), 1), promo], dim=1)
        return pair.flatten(1)[:, self.pair] + promo[:, self.promo_ix] + self.special


class GPT(nn.Module):
    """The transformer: embeddings, blocks, final LayerNorm and the output head.

    Used in chapter 4."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        if config.policy_head == "fromto":
            self.lm_head = FromToHead(config)
        else:
            self.lm_head = nn.Linear(config.n_embd, config.n_out, bias=False)
        if config.policy_head == "pool" and config.n_out == config.vocab_size:
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer) so the residual stream
        # does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; by default without the position embeddings (as in nanoGPT)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def hidden_states(self, idx: torch.Tensor, pos: torch.Tensor | None = None,
                      attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final (layer-normed) hidden states ``(B, T, n_embd)``.

        ``pos`` (positions, default 0..T-1) and ``attn_mask`` (``(B, 1, T, T)`` boolean, True =
        may attend) let the policy score many continuations of one prefix in a single sequence
        ("tree attention"): every continuation sits at the positions it would have after the
        prefix and sees only the prefix and itself, which is exactly separate forward passes.
        """
        B, T = idx.size()
        if T > self.config.block_size and pos is None:
            raise ValueError(f"sequence of length {T} exceeds block_size {self.config.block_size}; "
                             "crop the context to the last block_size tokens")
        if pos is None:
            pos = torch.arange(T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x, attn_mask)
        return self.transformer.ln_f(x)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                legal: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, loss)``. ``legal`` (board models; boolean ``(B, n_out)``, True = legal)
        masks the other logits to -inf, making the loss a cross-entropy over the legal moves."""
        x = self.hidden_states(idx)
        if not self.config.causal and self.config.policy_head == "pool":
            x = x.mean(dim=1)  # (B, C): the whole board, pooled
        logits = self.lm_head(x)
        if legal is not None:
            logits = logits.masked_fill(~legal, float("-inf"))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                                   ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay: float, learning_rate: float,
                             betas: tuple[float, float], device_type: str) -> torch.optim.AdamW:
        """AdamW with weight decay on matrices (linear and embedding weights) only, not on
        LayerNorm gains or biases; fused kernel on CUDA."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        fused = device_type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **({"fused": True} if fused else {}))

    def flops_per_token(self, seq_len: int | None = None) -> float:
        """Training FLOPs per token (forward + backward), the PaLM appendix B estimate used by
        nanoGPT: 6N for the weights plus 12 * layers * d_model * T for attention."""
        cfg = self.config
        T = seq_len or cfg.block_size
        return 6 * self.num_params() + 12 * cfg.n_layer * cfg.n_embd * T

    def estimate_mfu(self, tokens_per_s: float, peak_flops: float, seq_len: int | None = None) -> float:
        """Model FLOPs utilisation: achieved training FLOP/s over the hardware's peak."""
        return tokens_per_s * self.flops_per_token(seq_len) / peak_flops

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample tokens one at a time (causal models only), cropping to the last block_size.

        ``temperature`` is the package's one operator
        (:func:`minitranscend.temperature.softmax_at_temperature`; 0 = greedy, ties split
        evenly), applied after keeping only the ``top_k`` most likely tokens."""
        if not self.config.causal:
            raise ValueError("generate() needs a causal model")
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            logits = logits[:, -1, :].float()
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            probs = softmax_at_temperature(logits.cpu().numpy(), temperature)
            nxt = torch.multinomial(torch.from_numpy(probs).to(logits.device), 1, generator=generator)
            idx = torch.cat((idx, nxt), dim=1)
        return idx
