"""Ratings: put the models, the experts and reference opponents on one Elo scale.

Two methods, both reported:

* **Maximum likelihood (Bradley-Terry / Elo)** — :func:`fit_elo`. Every game among *any* players
  (ladder rungs, experts, models) enters one likelihood; a draw counts as half a win,
  ``P(a beats b) = 1 / (1 + 10 ** ((R_b - R_a) / 400))``. The fit is order-independent, uses all
  the games, and has honest uncertainty (:func:`bootstrap_elo` resamples games). Only rating
  *differences* are identified, so exactly one player is anchored at a stated value. The course's
  conclusions rest on this fit.
* **Glicko-2 as in the paper** — :func:`glicko2_ratings`: sequential per-game updates with sublee's
  ``glicko2`` package, opponents pinned (RD 0) at given ratings, the rated player starting at
  1500 / RD 500 / volatility 0.06. Kept for comparison with the paper's numbers. It is
  order-dependent (see ``n_orders``), and the package's volatility step has a known slip
  (``_f`` uses the rating where Glickman's formula has the rating deviation); ``corrected=True``
  uses the published formula.

Anchors. A rating scale needs one reference. The course has one scale, :data:`ANCHOR`: the
uniformly random player = 0, so every rating reads "Elo above random" (a convention, not a
Lichess rating: only differences mean something; the random player is reproducible everywhere).
:func:`default_ladder` anchors it, and so does the experiment's ladder
(:data:`minitranscend.evaluation.ladder.LADDER`). The paper instead pinned Stockfish Skill Levels at 0.1 s
per move to 1=1554, 2=1759, 3=1867, 4=2006, 5=2148 (:data:`PAPER_PINNED`): its code pins these
values and we found no calibration for them; at a time limit they also depend on the machine; :func:`paper_ladder` reproduces that
set-up for comparison only.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import glicko2
import numpy as np

from ..players import default_experts

SCALE = 400.0 / math.log(10.0)  # Elo points per natural-log unit of odds

ANCHOR: tuple[str, float] = ("random", 0.0)  # the course's one Elo scale: random player = 0
PAPER_PINNED = {1: 1554.0, 2: 1759.0, 3: 1867.0, 4: 2006.0, 5: 2148.0}

Game = tuple[str, str, float]  # (player a, player b, score of a in {0, 0.5, 1})


def elo_expected_score(r_a: float | np.ndarray, r_b: float | np.ndarray) -> float | np.ndarray:
    """Elo expected score of a player rated ``r_a`` against one rated ``r_b``
    (``1 / (1 + 10 ** ((r_b - r_a) / 400))``); :func:`elo_from_score` is its inverse."""
    return 1.0 / (1.0 + 10.0 ** ((np.asarray(r_b) - np.asarray(r_a)) / 400.0))


def elo_from_score(score: float) -> float:
    """The rating difference that makes ``score`` the expected score (+-inf at 1 and 0)."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return 400.0 * math.log10(score / (1.0 - score))


def games_from_matches(records: Iterable[Mapping[str, Any]]) -> list[Game]:
    """Match records (``games.jsonl`` lines) -> ``(white, black, white's score)``."""
    out = []
    for r in records:
        s = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}[r["result"]]
        out.append((r["white"], r["black"], s))
    return out


def _encode(games: Sequence[Game], players: Sequence[str] | None = None):
    names = list(players) if players is not None else sorted({p for g in games for p in g[:2]})
    idx = {n: i for i, n in enumerate(names)}
    try:
        a = np.array([idx[g[0]] for g in games], dtype=np.int64)
        b = np.array([idx[g[1]] for g in games], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"game with unknown player {e}; list every player in players=") from None
    s = np.array([float(g[2]) for g in games])
    if np.any((s < 0) | (s > 1)):
        raise ValueError("game scores must be in [0, 1] (1 win, 0.5 draw, 0 loss)")
    if np.any(a == b):
        raise ValueError("a game needs two different players")
    return names, a, b, s


@dataclass
class EloFit:
    """Result of :func:`fit_elo`: ratings, standard errors and the anchor used."""

    ratings: dict[str, float]
    se: dict[str, float]  # from the observed information (curvature), anchor has 0
    anchor: str
    anchor_rating: float
    games: dict[str, int]
    score: dict[str, float]  # each player's mean score
    iterations: int
    prior_sd: float

    def table(self, intervals: Mapping[str, tuple[float, float]] | None = None) -> list[dict]:
        rows = []
        for n in sorted(self.ratings, key=self.ratings.get, reverse=True):
            row = {"player": n, "rating": self.ratings[n], "se": self.se[n], "games": self.games[n],
                   "score": self.score[n], "anchor": n == self.anchor,
                   # all wins or all losses: the rating and its bootstrap interval are set by the
                   # prior, not the data (every resample is also perfect): read as a bound only
                   "perfect_score": self.score[n] in (0.0, 1.0)}
            if intervals is not None and n in intervals:
                row["lo"], row["hi"] = intervals[n]
            rows.append(row)
        return rows


def _newton(n: int, a, b, s, anchor_i: int, anchor_q: float, prior_var: float, q0=None,
            tol: float = 1e-9, max_iter: int = 100):
    """Maximize the log-likelihood (natural units q = R / SCALE) with q[anchor] fixed."""
    q = np.full(n, anchor_q) if q0 is None else q0.copy()
    q[anchor_i] = anchor_q
    free = np.array([i for i in range(n) if i != anchor_i])

    def loglik(q):
        d = q[a] - q[b]
        ll = np.sum(s * d - np.logaddexp(0.0, d))
        return ll - np.sum((q - anchor_q) ** 2) / (2 * prior_var) if prior_var else ll

    ll = loglik(q)
    it = 0
    for it in range(1, max_iter + 1):
        p = 1.0 / (1.0 + np.exp(-(q[a] - q[b])))
        r = s - p
        grad = np.bincount(a, r, n) - np.bincount(b, r, n)
        w = p * (1 - p)
        H = np.zeros((n, n))
        np.add.at(H, (a, a), w)
        np.add.at(H, (b, b), w)
        np.add.at(H, (a, b), -w)
        np.add.at(H, (b, a), -w)
        if prior_var:
            grad -= (q - anchor_q) / prior_var
            H += np.eye(n) / prior_var
        Hf = H[np.ix_(free, free)] + 1e-12 * np.eye(len(free))
        step = np.zeros(n)
        step[free] = np.linalg.solve(Hf, grad[free])
        t = 1.0
        while True:  # step halving keeps every iteration an ascent step
            new = q + t * step
            new_ll = loglik(new)
            if new_ll >= ll - 1e-12 or t < 1e-6:
                break
            t /= 2
        q, ll = new, new_ll
        if np.max(np.abs(t * step)) < tol:
            break
    return q, H, free, it


def fit_elo(games: Sequence[Game], anchor: str, anchor_rating: float = ANCHOR[1],
            players: Sequence[str] | None = None, prior_sd: float = 1000.0) -> EloFit:
    """Maximum-likelihood Elo ratings from games, one player anchored.

    ``prior_sd`` (Elo) adds a weak Gaussian prior around the anchor's rating. Without it a player
    who won (or lost) every game has no finite maximum; with 1000 it moves a player with dozens
    of games by a few points at most, and a perfect score gives a finite but very uncertain
    rating (flagged by its wide bootstrap interval). ``prior_sd=0`` disables it.
    """
    names, a, b, s = _encode(games, players)
    if anchor not in names:
        raise ValueError(f"anchor {anchor!r} played no game; anchor a player from {names}")
    n = len(names)
    ai = names.index(anchor)
    prior_var = (prior_sd / SCALE) ** 2 if prior_sd else 0.0
    q, H, free, it = _newton(n, a, b, s, ai, anchor_rating / SCALE, prior_var)
    se = np.zeros(n)
    try:
        cov = np.linalg.inv(H[np.ix_(free, free)])
        se[free] = np.sqrt(np.clip(np.diag(cov), 0, None)) * SCALE
    except np.linalg.LinAlgError:
        se[free] = np.inf
    counts = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    pts = np.bincount(a, s, n) + np.bincount(b, 1 - s, n)
    return EloFit(ratings={nm: float(q[i] * SCALE) for i, nm in enumerate(names)},
                  se={nm: float(se[i]) for i, nm in enumerate(names)}, anchor=anchor,
                  anchor_rating=anchor_rating, games={nm: int(counts[i]) for i, nm in enumerate(names)},
                  score={nm: float(pts[i] / max(counts[i], 1)) for i, nm in enumerate(names)},
                  iterations=it, prior_sd=prior_sd)


def bootstrap_elo(games: Sequence[Game], anchor: str, anchor_rating: float = ANCHOR[1],
                  n_boot: int = 500, seed: int = 0, level: float = 0.95, prior_sd: float = 1000.0,
                  ) -> tuple[EloFit, dict[str, tuple[float, float]]]:
    """The ML fit plus percentile bootstrap intervals (resampling whole games).

    Intervals are relative to the anchor: the anchor's own interval is a point.
    """
    fit = fit_elo(games, anchor, anchor_rating, prior_sd=prior_sd)
    names, a, b, s = _encode(games, list(fit.ratings))
    n = len(names)
    ai = names.index(anchor)
    prior_var = (prior_sd / SCALE) ** 2 if prior_sd else 0.0
    q0 = np.array([fit.ratings[nm] for nm in names]) / SCALE
    rng = np.random.default_rng(seed)
    samples = np.empty((n_boot, n))
    for k in range(n_boot):
        i = rng.integers(0, len(s), len(s))
        q, *_ = _newton(n, a[i], b[i], s[i], ai, anchor_rating / SCALE, prior_var, q0=q0, tol=1e-6)
        samples[k] = q * SCALE
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    lo, hi = np.quantile(samples, [lo_q, hi_q], axis=0)
    return fit, {nm: (float(lo[i]), float(hi[i])) for i, nm in enumerate(names)}


# -- Glicko-2 (the paper's method) -------------------------------------------------------------
def _glicko_player(rating: float, rd: float, vol: float, tau: float, corrected: bool):
    class Corrected(glicko2.Player):
        def _f(self, x, delta, v, a):  # Glickman (2012) step 5: phi (RD), not mu (rating)
            ex = math.exp(x)
            phi2 = self._Player__rd ** 2
            return ex * (delta ** 2 - phi2 - v - ex) / (2 * (phi2 + v + ex) ** 2) - (x - a) / self._tau ** 2

    cls = Corrected if corrected else glicko2.Player
    p = cls(rating=rating, rd=rd, vol=vol)
    p._tau = tau
    return p


def glicko2_ratings(games: Sequence[Game], pinned: Mapping[str, float], start: float = 1500.0,
                    rd: float = 500.0, vol: float = 0.06, tau: float = 0.5, corrected: bool = False,
                    n_orders: int = 1, seed: int = 0) -> dict[str, dict[str, float]]:
    """The paper's Glicko-2 procedure: every unpinned player starts at ``start``/``rd``/``vol`` and
    is updated after every game (a one-game rating period) against its opponent's current rating;
    ``pinned`` players keep their rating with RD 0. Games between two pinned players are skipped.

    ``n_orders > 1`` replays the games in that many random orders (the first is the given order):
    the spread of the results shows how much the final number depends on the order of games.
    Returns ``{player: {"rating", "rd", "vol", "min", "max"}}`` (min/max over orders).

    Used in chapter 6.
    """
    rng = random.Random(seed)
    runs: list[dict[str, tuple[float, float, float]]] = []
    order = list(games)
    for k in range(max(1, n_orders)):
        if k:
            rng.shuffle(order)
        state: dict[str, Any] = {}

        def get(name):
            if name not in state:
                state[name] = _glicko_player(start, rd, vol, tau, corrected)
            return state[name]

        for pa, pb, s in order:
            if pa in pinned and pb in pinned:
                continue
            ra = (pinned[pa], 0.0) if pa in pinned else (get(pa).rating, get(pa).rd)
            rb = (pinned[pb], 0.0) if pb in pinned else (get(pb).rating, get(pb).rd)
            if pa not in pinned:
                get(pa).update_player([rb[0]], [rb[1]], [s])
            if pb not in pinned:
                get(pb).update_player([ra[0]], [ra[1]], [1.0 - s])
        runs.append({n: (p.rating, p.rd, p.vol) for n, p in state.items()})
    out = {}
    for n in runs[0]:
        vals = [r[n][0] for r in runs]
        out[n] = {"rating": runs[0][n][0], "rd": runs[0][n][1], "vol": runs[0][n][2],
                  "min": min(vals), "max": max(vals)}
    for n, r in pinned.items():
        out.setdefault(n, {"rating": r, "rd": 0.0, "vol": 0.0, "min": r, "max": r})
    return out


# -- the ladder --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rung:
    """A ladder opponent: its player spec string, and a pinned rating if it is the anchor."""

    spec: str
    name: str
    rating: float | None = None  # set for the anchor (ML fit) / pinned players (Glicko-2)
    note: str = ""


def default_ladder() -> list[Rung]:
    """Reference opponents spanning random play to well above the experts, all reproducible.

    Anchor: the uniformly random player = 0 (:data:`ANCHOR`, the course's one scale). The other
    rungs are *rated from games*, not pinned: play them against each other and the model
    (:func:`ladder_pairs`) and fit them all with :func:`fit_elo`. Used in chapter 6.

    There is no rung below 10 nodes, nor one at 30: Stockfish 15.1 always completes its depth-2
    search (about 42 nodes) before it looks at a node limit, so 1, 10 and 30 nodes play the same
    moves (measured: 300 of 300 positions for 1 vs 10, 296 for 30) and would be one player
    under three names.
    """
    return [
        Rung("random", "random", rating=ANCHOR[1], note="anchor: Elo above the random player"),
        Rung("stockfish:nodes=10,name=sf-n10", "sf-n10",
             note="the weakest distinct setting: a depth-2 search"),
        Rung("stockfish:nodes=100,name=sf-n100", "sf-n100",
             note="the engine inside every default expert"),
        Rung("stockfish:nodes=300,name=sf-n300", "sf-n300"),
        Rung("stockfish:nodes=1000,name=sf-n1000", "sf-n1000"),
        *(Rung(f"expert:default:{i}", e.name, note=f"eps={e.eps}, blind to {e.blind_spot}")
          for i, e in enumerate(default_experts())),
    ]


def paper_ladder() -> list[Rung]:
    """The paper's opponents: Stockfish Skill Level 1-5 at 0.1 s per move, pinned at the paper's
    undocumented values (:data:`PAPER_PINNED`). Skill Levels are random by design and seeded from
    the clock, and a time limit depends on the machine: use for comparison with the paper only."""
    return [Rung(f"stockfish:skill_level={k},time=0.1,name=sf-skill{k}", f"sf-skill{k}", rating=v,
                 note="paper's pinned value, source undocumented") for k, v in PAPER_PINNED.items()]


def ladder_pairs(ladder: Sequence[Rung], neighbours: int = 2) -> list[tuple[Rung, Rung]]:
    """Which ladder rungs should play each other so that the whole ladder is connected:
    each rung against its ``neighbours`` next stronger rungs (by list order)."""
    pairs = []
    for i, r in enumerate(ladder):
        for j in range(i + 1, min(len(ladder), i + 1 + neighbours)):
            pairs.append((r, ladder[j]))
    return pairs


def ratings_table(games: Sequence[Game], anchor: str = ANCHOR[0], anchor_rating: float = ANCHOR[1],
                  pinned: Mapping[str, float] | None = None, n_boot: int = 500, seed: int = 0,
                  glicko_orders: int = 20) -> list[dict[str, Any]]:
    """Both methods side by side, one row per player (ML fit first; it is the one to trust)."""
    fit, ci = bootstrap_elo(games, anchor, anchor_rating, n_boot=n_boot, seed=seed)
    rows = fit.table(ci)
    if pinned:
        gl = glicko2_ratings(games, pinned, n_orders=glicko_orders, seed=seed)
        for row in rows:
            g = gl.get(row["player"])
            if g is not None:
                row.update(glicko2=g["rating"], glicko2_rd=g["rd"], glicko2_order_min=g["min"],
                           glicko2_order_max=g["max"], pinned=row["player"] in pinned)
    return rows
