"""Two learners of the experts' text, and how we score them.

* :class:`CountLearner` is the *exact* empirical mixture f(y|x) = sum_i g(i|x) f_i(y|x): the counts
  of (relation, head) -> tail. Its argmax is the plurality (majority) vote of the experts who wrote
  about x, so it shows the taxonomy's claims with no optimisation noise at all.
* A tiny transformer (:mod:`minitranscend.model`) trained on the experts' paragraphs, one token per
  entity and per relation. If it learns the mixture, it inherits the count learner's behaviour.

Scoring is exact, not sampled: at temperature tau the probability of the right answer is
softmax(log f / tau)[truth] (the package's one temperature operator,
:func:`minitranscend.temperature.softmax_at_temperature`); at tau -> 0 it is 1/|argmax set| if
the truth is among the argmax (ties split evenly), else 0. Expected exact-match accuracy is the
mean over questions.

The transformer trains with the package's one training loop (:func:`minitranscend.train.fit`),
with this module's batches (random rows of the packed paragraphs) and learning-rate schedule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from ..model import GPT, GPTConfig
from ..temperature import softmax_at_temperature
from ..train.loop import FitConfig, fit
from .graph import RELATION_BY_NAME, RELATIONS, Fact, KnowledgeGraph, TwoHop

WORDS = ("<pad>", "<bos>", "the", "of", "is", ".", ":")
# Words of the extra phrasings (appended after the entities, and only when a vocabulary has more
# than one phrasing, so that the one-phrasing vocabulary and its results do not change).
PHRASING_WORDS = ("'s", "has", "as", "for", ",")
MAX_PHRASINGS = 4


class Vocab:
    """Word-level tokens: template words, one per relation, one per entity (id = offset + entity).

    Used in chapter 8."""

    def __init__(self, graph: KnowledgeGraph, phrasings: int = 1) -> None:
        if not 1 <= phrasings <= MAX_PHRASINGS:
            raise ValueError(f"phrasings must be in 1..{MAX_PHRASINGS}, got {phrasings}")
        self.phrasings = phrasings
        self.tokens = list(WORDS) + [r.name for r in RELATIONS] + list(graph.names)
        if phrasings > 1:
            self.tokens += list(PHRASING_WORDS)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.entity_offset = len(WORDS) + len(RELATIONS)
        self.graph = graph

    def __len__(self) -> int:
        return len(self.tokens)

    def ent(self, e: int) -> int:
        return self.entity_offset + e

    def w(self, word: str) -> int:
        return self.index[word]

    def decode(self, ids) -> str:
        return " ".join(self.tokens[int(i)] for i in ids)

    # Each encoder returns (token ids, positions of the answer tokens that carry the loss).
    def fact(self, head: int, relation: str, tail: int, template: int = 0
             ) -> tuple[list[int], list[int]]:
        """One-hop sentence in phrasing ``template`` (0 is the questions' form, "the R of H is
        T ."; 1 "H 's R is T ."; 2 "H has R T ."; 3 "as for H , the R is T .")."""
        w, h, t = self.w, self.ent(head), self.ent(tail)
        if template == 0:
            return [w("the"), w(relation), w("of"), h, w("is"), t, w(".")], [5]
        if template >= self.phrasings:
            raise ValueError(f"template {template} needs a vocabulary with phrasings > {template}")
        if template == 1:
            return [h, w("'s"), w(relation), w("is"), t, w(".")], [4]
        if template == 2:
            return [h, w("has"), w(relation), t, w(".")], [3]
        return [w("as"), w("for"), h, w(","), w("the"), w(relation), w("is"), t, w(".")], [7]

    def fact_phrasings(self, head: int, relation: str, tail: int
                       ) -> list[tuple[list[int], list[int]]]:
        """The fact once in each of this vocabulary's phrasings."""
        return [self.fact(head, relation, tail, j) for j in range(self.phrasings)]

    def two_hop(self, q: TwoHop) -> tuple[list[int], list[int]]:
        w = self.w
        ids = [w("the"), w(q.r2), w("of"), w("the"), w(q.r1), w("of"), self.ent(q.head), w("is"),
               self.ent(q.tail), w(".")]
        return ids, [8]

    def two_hop_cot(self, q: TwoHop) -> tuple[list[int], list[int]]:
        """The question, then ':' and the two one-hop steps: the bridge entity is written out."""
        w = self.w
        ids = [w("the"), w(q.r2), w("of"), w("the"), w(q.r1), w("of"), self.ent(q.head), w(":"),
               w("the"), w(q.r1), w("of"), self.ent(q.head), w("is"), self.ent(q.bridge), w("."),
               w("the"), w(q.r2), w("of"), self.ent(q.bridge), w("is"), self.ent(q.tail), w(".")]
        return ids, [13, 20]


def tempered_truth_probability(scores: np.ndarray, truth: np.ndarray, tau: float) -> np.ndarray:
    """P(answer == truth) per question (row) when sampling from softmax(scores / tau), the
    package's temperature operator; tau = 0 is greedy with ties split evenly. ``scores`` are
    log-probabilities or logits (-inf where impossible); a question with no possible answer at
    all (a row of -inf: never written about, no candidates given) is answered wrongly (0).

    Used in chapter 8."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.zeros(len(truth))
    answerable = np.isfinite(scores).any(axis=1)
    if answerable.any():
        rows = np.nonzero(answerable)[0]
        p = softmax_at_temperature(scores[rows], tau)
        out[rows] = p[np.arange(len(rows)), np.asarray(truth)[rows]]
    return out


class CountLearner:
    """The empirical mixture: counts[q, e] = how many statements answer question q with entity e."""

    def __init__(self, n_questions: int, n_entities: int) -> None:
        self.counts = np.zeros((n_questions, n_entities))

    def fit(self, question: np.ndarray, answer: np.ndarray, weight: np.ndarray | None = None
            ) -> "CountLearner":
        np.add.at(self.counts, (question, answer), 1 if weight is None else weight)
        return self

    def scores(self, candidates: list[np.ndarray] | None = None) -> np.ndarray:
        """log counts; a question never written about is uniform over its ``candidates``."""
        with np.errstate(divide="ignore"):
            s = np.log(self.counts)
        if candidates is not None:
            for q in np.nonzero(self.counts.sum(axis=1) == 0)[0]:
                s[q, candidates[q]] = 0.0
        return s

    def accuracy(self, truth: np.ndarray, tau: float, candidates: list[np.ndarray] | None = None
                 ) -> float:
        return float(tempered_truth_probability(self.scores(candidates), truth, tau).mean())


def count_learner_for(pool) -> CountLearner:
    """The count learner of an :class:`~minitranscend.kg.experts.ExpertPool`'s statements.

    Used in chapter 8."""
    k, F = pool.writes.shape
    learner = CountLearner(F, pool.graph.n_entities)
    i, f = np.nonzero(pool.writes)
    return learner.fit(f, pool.beliefs[i, f], pool.writes[i, f])


def candidates_for(graph: KnowledgeGraph) -> list[np.ndarray]:
    return [graph.of_type(RELATION_BY_NAME[f.relation].tail_type) for f in graph.facts]


# ----------------------------------------------------------------------------- transformer

@dataclass
class TransformerConfig:
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 48
    batch_size: int = 64
    steps: int = 1500
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    warmup: int = 100
    seed: int = 0


def pack_epochs(sequences: list[tuple[list[int], list[int]]], block_size: int, bos: int,
                rng: np.random.Generator, min_rows: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Several shuffled packings of the same sentences, at least ``min_rows`` rows in all: with
    one packing a small corpus is memorised row by row (the neighbours become cues) and the
    model fails on a question asked alone."""
    xs, ys, n = [], [], 0
    while n < min_rows:
        x, y = pack_paragraphs(sequences, block_size, bos, rng)
        xs.append(x)
        ys.append(y)
        n += len(x)
    return np.concatenate(xs), np.concatenate(ys)


def pack_paragraphs(sequences: list[tuple[list[int], list[int]]], block_size: int, bos: int,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pack sentences, in order (shuffled first if ``rng`` is given), into paragraphs of at most
    ``block_size + 1`` tokens, a <bos> first.

    Returns inputs X and targets Y of shape (N, block_size); Y is -1 except at answer tokens:
    the rest of a sentence is either fixed template or a free choice of topic, and scoring only
    answers makes the model learn f(y|x) for our questions in fewer steps."""
    order = rng.permutation(len(sequences)) if rng is not None else range(len(sequences))
    rows_x, rows_y = [], []
    ids, ans = [bos], []

    def flush() -> None:
        x = np.zeros(block_size, dtype=np.int64)
        y = np.full(block_size, -1, dtype=np.int64)
        x[:len(ids) - 1] = ids[:-1]
        for a in ans:
            y[a - 1] = ids[a]
        rows_x.append(x)
        rows_y.append(y)

    for j in order:
        s, a = sequences[j]
        if len(s) + 1 > block_size + 1:
            raise ValueError(f"a sentence of {len(s)} tokens does not fit block_size={block_size}")
        if len(ids) + len(s) > block_size + 1:
            flush()
            ids, ans = [bos], []
        ans += [len(ids) + p for p in a]
        ids = ids + s
    if len(ids) > 1:
        flush()
    return np.stack(rows_x), np.stack(rows_y)


def kg_learning_rate(cfg: TransformerConfig, step: int, elapsed_s: float = 0.0) -> float:
    """Linear warmup over ``cfg.warmup`` steps, then a cosine from the peak to 10% of it at
    ``cfg.steps`` (``elapsed_s`` unused: the runs have no time budget)."""
    lr = cfg.learning_rate * min(1.0, (step + 1) / cfg.warmup)
    lr *= 0.55 + 0.45 * math.cos(math.pi * step / cfg.steps)   # decay to 10% of the peak
    return lr


def train_transformer(X: np.ndarray, Y: np.ndarray, vocab_size: int, cfg: TransformerConfig,
                      progress: bool = False) -> GPT:
    """Train a fresh GPT on random rows of (X, Y) with :func:`minitranscend.train.fit`: AdamW,
    :func:`kg_learning_rate`, gradient clipping at 1, no evaluation, no checkpoints (a run is a
    minute). The model comes back in eval mode with ``final_loss`` (the last batch's loss) and
    ``train_seconds`` set.

    The batches are drawn from one generator seeded with ``cfg.seed``, in step order, and the
    loop asks for exactly one per step: the chapter's results are those of this stream.
    Runs on one CPU thread: a model this small gains little from a second thread, and on a
    shared, busy machine two spinning threads per process make every step many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(cfg.seed)
        model = GPT(GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer,
                              n_head=cfg.n_head, n_embd=cfg.n_embd))
        optimizer = model.configure_optimizers(cfg.weight_decay, cfg.learning_rate, (0.9, 0.95), "cpu")
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        g = torch.Generator().manual_seed(cfg.seed)

        def get_batch(split: str, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            b = torch.randint(len(Xt), (cfg.batch_size,), generator=g)
            return Xt[b], Yt[b]

        state = fit(model, get_batch, optimizer, partial(kg_learning_rate, cfg),
                    FitConfig(max_iters=cfg.steps, grad_clip=1.0, eval_interval=None, dtype="float32",
                              progress=progress))
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.train_seconds = state.elapsed_s
    model.final_loss = state.train_loss if state.train_loss is not None else float("nan")
    return model


@torch.no_grad()
def next_token_logits(model, prompts: np.ndarray, batch: int = 512) -> np.ndarray:
    """Logits of the next token after each (equal-length) prompt row."""
    out = []
    for s in range(0, len(prompts), batch):
        logits, _ = model(torch.from_numpy(prompts[s:s + batch]))
        out.append(logits[:, -1, :].float().numpy())
    return np.concatenate(out)


def fact_prompts(vocab: Vocab, facts: list[Fact]) -> tuple[np.ndarray, np.ndarray]:
    """'<bos> the {relation} of {head} is' for each fact, and the truth as a token id."""
    rows = [[vocab.w("<bos>")] + vocab.fact(f.head, f.relation, f.tail)[0][:5] for f in facts]
    return np.array(rows, dtype=np.int64), np.array([vocab.ent(f.tail) for f in facts])


def two_hop_prompts(vocab: Vocab, qs: list[TwoHop]) -> tuple[np.ndarray, np.ndarray]:
    rows = [[vocab.w("<bos>")] + vocab.two_hop(q)[0][:8] for q in qs]
    return np.array(rows, dtype=np.int64), np.array([vocab.ent(q.tail) for q in qs])


def transformer_accuracy(model, prompts: np.ndarray, truth: np.ndarray, tau: float) -> float:
    """Expected exact-match accuracy over the whole vocabulary at temperature tau."""
    logits = next_token_logits(model, prompts).astype(np.float64)
    return float(tempered_truth_probability(logits, truth, tau).mean())


@torch.no_grad()
def cot_accuracy(model, vocab: Vocab, qs: list[TwoHop]) -> dict[str, float]:
    """Chain of thought, greedy: the model names the bridge entity, then answers about it.

    The template words are fixed, so we write them; the model chooses both entities. Returns the
    bridge accuracy and the final answer accuracy."""
    seqs = np.array([[vocab.w("<bos>")] + vocab.two_hop_cot(q)[0][:13] for q in qs], dtype=np.int64)
    bridge = next_token_logits(model, seqs).argmax(axis=1)
    w = vocab.w
    tail_prompt = np.stack([np.array([w("."), w("the"), w(q.r2), w("of"), b, w("is")])
                            for q, b in zip(qs, bridge)])
    seqs2 = np.concatenate([seqs, bridge[:, None], tail_prompt], axis=1)
    answer = next_token_logits(model, seqs2).argmax(axis=1)
    truth_b = np.array([vocab.ent(q.bridge) for q in qs])
    truth_t = np.array([vocab.ent(q.tail) for q in qs])
    return {"bridge": float((bridge == truth_b).mean()), "answer": float((answer == truth_t).mean())}


def pool_sentences(pool, vocab: Vocab, rng: np.random.Generator, unit: str = "entity",
                   block_size: int | None = None) -> list[tuple[list[int], list[int]]]:
    """Every statement an expert pool writes, as training units of (tokens, answer positions),
    expert by expert and shuffled within each expert.

    ``unit="entity"`` (the paper's): an expert's statements about one head entity form one
    paragraph (its k-th statement of each fact in its k-th paragraph about that entity), cut
    at sentence ends to fit ``block_size`` tokens; :func:`pack_epochs` shuffles whole units, so
    a paragraph stays one writer's about one entity. ``unit="sentence"``: every statement is
    its own unit, and packed rows mix writers and entities freely."""
    if unit not in ("entity", "sentence"):
        raise ValueError(f"unit must be 'entity' or 'sentence', got {unit!r}")
    facts = pool.graph.facts
    by_expert: dict[int, dict[tuple[int, int], list]] = {}
    copies: dict[tuple[int, int], int] = {}
    for i, f, t in pool.statements():
        k = copies[(i, f)] = copies.get((i, f), -1) + 1
        key = (facts[f].head, k) if unit == "entity" else (f, k)
        by_expert.setdefault(i, {}).setdefault(key, []).append(
            vocab.fact(facts[f].head, facts[f].relation, t))
    out = []
    for i in sorted(by_expert):
        units = []
        for sentences in by_expert[i].values():
            order = rng.permutation(len(sentences))
            units += _join(sentences, order, block_size)
        out += [units[j] for j in rng.permutation(len(units))]
    return out


def _join(sentences: list[tuple[list[int], list[int]]], order, block_size: int | None,
          ) -> list[tuple[list[int], list[int]]]:
    """Sentences (in ``order``) joined into as few units of at most ``block_size`` tokens as
    cutting at sentence ends allows (no limit: one unit)."""
    units, tokens, answers = [], [], []
    for j in order:
        s, a = sentences[j]
        if tokens and block_size is not None and len(tokens) + len(s) > block_size:
            units.append((tokens, answers))
            tokens, answers = [], []
        answers = answers + [len(tokens) + p for p in a]
        tokens = tokens + list(s)
    units.append((tokens, answers))
    return units
