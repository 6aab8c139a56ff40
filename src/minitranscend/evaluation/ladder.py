"""The rating ladder: a model at several temperatures against reference opponents, on one scale.

The paper's headline figure is "rating vs temperature". Producing it takes many matches (each
temperature against each opponent, plus games among the opponents so that their own ratings are
measured rather than assumed) and one fit over all of them. :func:`evaluate_temperatures` does the
whole job:

1. plan the matches: model(tau) vs every opponent, for every tau, and opponent vs opponent
   (:func:`connect_opponents`) so that the scale is connected and the experts get ratings too;
2. play them with :func:`~minitranscend.evaluation.match.run_match`, each in its own folder under
   ``out_dir/matches/``, so an interrupted run resumes game by game and a second model evaluated
   in the same ``out_dir`` reuses the opponents' games for free (a model's folders carry a hash of
   its checkpoint, so a model retrained to the same path never resumes the old model's games);
3. fit maximum-likelihood Elo over all the planned games, anchored at one opponent, with bootstrap
   intervals (:func:`~minitranscend.evaluation.ratings.bootstrap_elo`), and the paper's Glicko-2
   beside it (opponents pinned at their ML ratings, several game orders);
4. write ``ladder.json`` (plan, settings, engine, ratings, per-tau series), ``ratings.csv``,
   ``matches.csv`` and ``temperature.csv``.

The course has ONE ladder, :data:`LADDER`: the reference opponents, the anchor (the uniformly
random player = 0, so a rating reads "Elo above random"), the ply-cap rule (Stockfish adjudicates
at 400 centipawns) and the model's draw avoidance. The main experiment (chapter 7, README) and
chapter 6 both rate on it; :func:`evaluate_temperatures` takes its settings by default.

Parallelism: with at least ``workers`` matches left, whole matches run in a pool of ``workers``
processes (one player pair per process, one torch thread each; the pool is reused, so torch is
imported once per process); with fewer, the matches run one after another, each with ``workers``
game processes. Processes start with ``spawn``: everything here is importable package code, so this
works from scripts and notebooks alike.
"""
from __future__ import annotations

import json
import os
import re
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from ..engine import recorded_version
from ..player_specs import PlayerSpec, expert_spec, model_spec
from ..players import ExpertConfig
from ..store import atomic_write_csv, atomic_write_text, file_digest
from ..workers import worker_pool
from .match import DEFAULT_MAX_PLIES, check_unique_labels, load_games, run_match, saved_players
from .ratings import ANCHOR, Rung, bootstrap_elo, games_from_matches, glicko2_ratings, ladder_pairs

ModelFor = Callable[[float], PlayerSpec]  # tau -> the player to rate at that temperature


@dataclass(frozen=True)
class Ladder:
    """A rating ladder's rules: who the references are, who anchors the scale at what rating,
    how a game at the ply cap is scored, and how models play.

    ``adjudicate``: centipawns; a game stopped by the ply cap goes to the side Stockfish (depth 12)
    finds that far ahead, instead of being drawn: a board model rarely loses to its experts but
    often cannot finish a won game (it sees no history and never learned to mate); in the first
    full run 43 of model A's 160 games against its experts ended at the cap. ``model_params``:
    how a model plays its games (:class:`~minitranscend.player_specs.ModelConfig` fields):
    ``avoid_draws`` because a model that cannot see the game's history would otherwise shuffle
    won games into repetitions (:func:`~minitranscend.policy.avoid_draws_when_ahead`)."""

    references: tuple[str, ...] = ("random", "stockfish:nodes=10,name=sf-n10",
                                   "stockfish:nodes=100,name=sf-n100")
    anchor: str = ANCHOR[0]
    anchor_rating: float = ANCHOR[1]
    adjudicate: int | None = 400
    model_params: tuple[tuple[str, Any], ...] = (("avoid_draws", True),)

    def opponents(self) -> list[PlayerSpec]:
        """The reference opponents as specs, weakest first."""
        return [PlayerSpec.parse(o) for o in self.references]


LADDER = Ladder()  # the course's one ladder: chapter 6, chapter 7, the experiment, the README


def as_opponent(x: Rung | PlayerSpec | ExpertConfig | str) -> PlayerSpec:
    """A ladder opponent as a PlayerSpec: a :class:`Rung`, a spec, a spec string, or an
    :class:`~minitranscend.players.ExpertConfig` (:func:`~minitranscend.player_specs.expert_spec`:
    the experts who wrote a dataset, rated as exactly those players)."""
    if isinstance(x, Rung):
        spec = PlayerSpec.parse(x.spec)
        if spec.label != x.name:
            raise ValueError(f"rung {x.name!r} builds a player named {spec.label!r}; add "
                             f"name={x.name} to its spec so that games and ratings agree")
        return spec
    if isinstance(x, str):
        return PlayerSpec.parse(x)
    if isinstance(x, PlayerSpec):
        return x
    if isinstance(x, ExpertConfig):
        return expert_spec(x)
    raise TypeError(f"an opponent must be a Rung, a PlayerSpec, an ExpertConfig or a spec string, "
                    f"got {x!r}")


def connect_opponents(opponents: Sequence[PlayerSpec], anchor: str, neighbours: int = 2,
                      expert_refs: Sequence[str] | None = None) -> list[tuple[PlayerSpec, PlayerSpec]]:
    """Opponent-vs-opponent pairings that put every opponent on one connected scale.

    Reference opponents (everything but experts), in the given order (weakest first), each play
    their ``neighbours`` next stronger ones: a chain whose neighbours are close in strength, so
    the games are informative (a 0% or 100% score measures little). Experts play the reference
    opponents named in ``expert_refs`` (default: all of them): an expert's strength is what is
    being measured, so it is not known in advance which rungs are close to it; experts do not
    play each other (they are rated on the references' scale, not against a panel of peers).
    """
    names = [o.label for o in opponents]
    if len(set(names)) != len(names):
        raise ValueError(f"opponent names must be distinct, got {names}")
    if anchor not in names:
        raise ValueError(f"the anchor {anchor!r} is not one of the opponents {names}")
    chain = [o for o in opponents if o.kind != "expert"]
    side = [o for o in opponents if o.kind == "expert"]
    pairs = ladder_pairs(chain, neighbours)
    if side:
        chain_names = [o.label for o in chain]
        refs = chain_names if expert_refs is None else list(expert_refs)
        unknown = sorted(set(refs) - set(chain_names))
        if unknown or not refs:
            raise ValueError(f"expert_refs {refs} must name reference opponents from {chain_names}")
        pairs += [(e, r) for e in side for r in chain if r.label in refs]
    return pairs


@dataclass(frozen=True)
class Pairing:
    """One planned match: ``a`` vs ``b`` for ``n_games`` games in ``matches/<folder>``."""

    a: PlayerSpec
    b: PlayerSpec
    n_games: int
    role: str  # "model" (model vs opponent) or "ladder" (opponent vs opponent)
    tau: float | None = None
    tag: str = ""  # the checkpoint's content hash: a retrained model never resumes old games

    @property
    def folder(self) -> str:
        return _safe(f"{self.a.label}__vs__{self.b.label}" + (f"__{self.tag}" if self.tag else ""))


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text)


@dataclass
class LadderResult:
    """What :func:`evaluate_temperatures` returns (and writes to ``out_dir/ladder.json``)."""

    out_dir: Path
    ratings: list[dict[str, Any]]  # one row per player, best first: ML rating, lo/hi, Glicko-2
    series: dict[str, list[dict[str, float]]]  # {model name: [{tau, rating, lo, hi}, ...]}
    references: dict[str, dict[str, float]]  # experts: {name: {rating, lo, hi}}
    matches: list[dict[str, Any]]  # one summary per match (W/D/L, score, interval, ...)
    anchor: str
    anchor_rating: float
    games: list[tuple[str, str, float]] = field(repr=False, default_factory=list)

    def rating(self, player: str) -> dict[str, Any]:
        """The ratings row of one player."""
        for r in self.ratings:
            if r["player"] == player:
                return r
        raise KeyError(f"no rating for {player!r}; players: {[r['player'] for r in self.ratings]}")


def plan_ladder(models: dict[float, PlayerSpec], opponents: Sequence[PlayerSpec], anchor: str,
                games_per_pair: int, ladder_games: int | None = None, neighbours: int = 2,
                model_opponents: Sequence[str] | None = None,
                expert_refs: Sequence[str] | None = None, tag: str = "") -> list[Pairing]:
    """Every match :func:`evaluate_temperatures` plays: the ladder's own games first (they are
    shared between models), then each temperature against each opponent (or only those named
    in ``model_opponents``). ``tag`` goes into the model matches' folder names."""
    if games_per_pair < 1:
        raise ValueError(f"games_per_pair must be >= 1, got {games_per_pair}")
    labels = [o.label for o in opponents]
    if model_opponents is not None:
        unknown = sorted(set(model_opponents) - set(labels))
        if unknown:
            raise ValueError(f"model_opponents {unknown} are not among the opponents {labels}")
    n_ladder = games_per_pair if ladder_games is None else ladder_games
    plan = []
    if n_ladder > 0:
        plan += [Pairing(a, b, n_ladder, "ladder")
                 for a, b in connect_opponents(opponents, anchor, neighbours, expert_refs)]
    for tau, m in models.items():
        plan += [Pairing(m, o, games_per_pair, "model", tau, tag) for o in opponents
                 if model_opponents is None or o.label in model_opponents]
    return plan


# -- running the matches -----------------------------------------------------------------------
def _play(args: tuple[PlayerSpec, PlayerSpec, int, str, dict[str, Any]]) -> dict[str, Any]:
    a, b, n, folder, kw = args
    return run_match(a, b, n, folder, workers=1, progress=False, **kw)


def run_pairings(plan: Sequence[Pairing], out_dir: str | os.PathLike, workers: int = 2,
                 progress: bool = True, **match_kw: Any) -> list[dict[str, Any]]:
    """Play every pairing (resumably); returns the match summaries in plan order."""
    root = Path(out_dir) / "matches"
    root.mkdir(parents=True, exist_ok=True)
    done = {p.folder: len(load_games(root / p.folder)) for p in plan}
    todo = [p for p in plan if done[p.folder] < p.n_games]
    total = sum(p.n_games for p in plan)
    summaries: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=total, initial=sum(min(done[p.folder], p.n_games) for p in plan),
               desc="ladder", unit="game", disable=not progress)
    try:
        if workers > 1 and len(todo) >= workers:
            uses_torch = any(p.a.kind == "model" or p.b.kind == "model" for p in todo)
            with worker_pool(workers, torch=uses_torch) as pool:
                futures = {pool.submit(_play, (p.a, p.b, p.n_games, str(root / p.folder), match_kw)): p
                           for p in todo}
                for fut in as_completed(futures):
                    p = futures[fut]
                    summaries[p.folder] = fut.result()
                    bar.update(p.n_games - min(done[p.folder], p.n_games))
                    bar.set_postfix_str(p.folder[:40])
        else:
            for p in todo:
                bar.set_postfix_str(p.folder[:40])
                summaries[p.folder] = run_match(p.a, p.b, p.n_games, root / p.folder,
                                                workers=workers, progress=False, **match_kw)
                bar.update(p.n_games - min(done[p.folder], p.n_games))
    finally:
        bar.close()
    out = []
    for p in plan:  # finished earlier: rewrite the summary from games.jsonl (no player is built)
        s = summaries.get(p.folder) or run_match(p.a, p.b, p.n_games, root / p.folder,
                                                 workers=1, progress=False, **match_kw)
        out.append({**s, "label_a": p.a.label, "label_b": p.b.label, "role": p.role, "tau": p.tau,
                    "folder": p.folder})
    return out


# -- fitting -----------------------------------------------------------------------------------
def fit_ladder(match_dirs: Sequence[str | os.PathLike], anchor: str = LADDER.anchor,
               anchor_rating: float = LADDER.anchor_rating,
               n_boot: int = 500, seed: int = 0, glicko_orders: int = 20,
               n_games: Sequence[int] | None = None, rated: Sequence[str] | None = None,
               ) -> tuple[list[dict[str, Any]], list[tuple]]:
    """ML Elo (+ bootstrap) over the games of ``match_dirs`` and the paper's Glicko-2 beside it.

    Glicko-2 rates the model players one game at a time against opponents pinned (RD 0) at their
    ML ratings, as the paper pinned Stockfish levels; ``glicko_orders`` random game orders give the
    spread (``glicko2_order_min``/``max``) that shows its order dependence. Returns (rows, games).
    ``n_games``: use only the first n games of each folder (a folder may hold more from a bigger
    earlier run). ``rated``: the players Glicko-2 rates (default: the model players of the matches).
    """
    check_unique_labels(match_dirs)
    games: list[tuple[str, str, float]] = []
    for k, d in enumerate(match_dirs):
        recs = load_games(d)
        if n_games is not None:
            recs = recs[:n_games[k]]
        games += games_from_matches(recs)
    if not games:
        raise ValueError("no finished games in the given match folders; play the matches first")
    fit, ci = bootstrap_elo(games, anchor, anchor_rating, n_boot=n_boot, seed=seed)
    rows = fit.table(ci)
    rated = set(rated) if rated is not None else _model_players(match_dirs)
    pinned = {n: r for n, r in fit.ratings.items() if n not in rated}
    gl = glicko2_ratings([g for g in games if g[0] in rated or g[1] in rated], pinned,
                         n_orders=glicko_orders, seed=seed)
    for row in rows:
        g = gl.get(row["player"])
        if g is not None and row["player"] in rated:
            row.update(glicko2=g["rating"], glicko2_rd=g["rd"], glicko2_order_min=g["min"],
                       glicko2_order_max=g["max"])
    return rows, games


def _model_players(match_dirs: Sequence[str | os.PathLike]) -> set[str]:
    """Names of the model players in these matches (from the saved specs)."""
    return {PlayerSpec.parse(text).label for _, text in saved_players(match_dirs)
            if text.startswith("model:")}


# -- the whole job -----------------------------------------------------------------------------
def evaluate_temperatures(checkpoint: str | os.PathLike | ModelFor, taus: Sequence[float],
                          opponents: Sequence[Rung | PlayerSpec | ExpertConfig | str],
                          out_dir: str | os.PathLike, games_per_pair: int,
                          ladder_games: int | None = None,
                          anchor: str | None = None, anchor_rating: float | None = None,
                          model_opponents: Sequence[str] | None = None,
                          expert_refs: Sequence[str] | None = None, model_name: str = "model",
                          model_params: dict[str, Any] | None = None,
                          workers: int = 2, seed: int = 0, opening_plies: int = 2, book: bool = True,
                          max_plies: int = DEFAULT_MAX_PLIES, neighbours: int = 2, n_boot: int = 500,
                          glicko_orders: int = 20, progress: bool = True,
                          adjudicate: int | None = LADDER.adjudicate,
                          ladder: Ladder = LADDER) -> LadderResult:
    """Rate a model at each temperature in ``taus`` against ``opponents``; resumable.

    ``checkpoint``: a model checkpoint (played as :func:`model_spec` ``(checkpoint, tau,
    model_name, **model_params)``), or any function ``tau -> PlayerSpec`` (e.g. a stand-in
    player in tests). ``opponents``: weakest first; :class:`Rung` objects (e.g.
    :func:`~minitranscend.evaluation.ratings.default_ladder`) or player specs.
    ``anchor``/``anchor_rating``: the opponent whose rating is fixed; by default the one
    :class:`Rung` that carries a rating, else ``ladder``'s anchor (random = 0).
    ``ladder_games``: games per opponent-vs-opponent pairing (default
    ``games_per_pair``; 0 skips them, then the opponents are rated only through the model).
    ``model_opponents``: names of the opponents the model plays (default: all; the others are
    rated through the ladder games only). ``expert_refs``: the reference opponents each expert
    plays (default: all non-expert opponents; see :func:`connect_opponents`).
    ``opening_plies``/``book``: varied openings, so that deterministic players do not repeat
    one game (:func:`~minitranscend.evaluation.match.run_match`). ``adjudicate``: centipawns;
    games stopped by the ply cap are adjudicated by Stockfish instead of drawn (every match of
    the ladder alike; default ``ladder.adjudicate``, None draws them). ``model_params``: how the
    model plays (default ``ladder.model_params``: draw avoidance).

    Rerunning with the same arguments costs nothing; with more games it plays only the new ones.
    Evaluate a second model in the same ``out_dir`` under another ``model_name`` to reuse the
    opponents' games; each call fits only its own planned games.

    Used in chapter 6.
    """
    if not taus:
        raise ValueError("taus is empty; give at least one temperature")
    specs = [as_opponent(o) for o in opponents]
    if not specs:
        raise ValueError("no opponents; give reference players, e.g. ratings.default_ladder()")
    if anchor is None:
        pinned = [o for o in opponents if isinstance(o, Rung) and o.rating is not None]
        if len(pinned) > 1:
            raise ValueError("say which opponent anchors the scale: anchor='random' (or give "
                             "at most one Rung with a rating)")
        anchor, rating = (pinned[0].name, pinned[0].rating) if pinned else \
            (ladder.anchor, ladder.anchor_rating)
        anchor_rating = rating if anchor_rating is None else anchor_rating
    if anchor not in [s.label for s in specs]:
        raise ValueError(f"anchor {anchor!r} is not one of the opponents {[s.label for s in specs]}")
    anchor_rating = ladder.anchor_rating if anchor_rating is None else float(anchor_rating)
    if model_params is None:
        model_params = dict(ladder.model_params)
    if callable(checkpoint) and not isinstance(checkpoint, (str, os.PathLike)):
        models = {float(t): checkpoint(float(t)) for t in taus}
        ckpt_text = getattr(checkpoint, "__qualname__", repr(checkpoint))
        tag = ""
    else:
        if not Path(checkpoint).exists():
            raise FileNotFoundError(f"model checkpoint {checkpoint} not found; train it first "
                                    "(experiment.ensure_model or `minitranscend train`)")
        models = {float(t): model_spec(checkpoint, t, model_name, **model_params) for t in taus}
        ckpt_text = str(checkpoint)
        tag = checkpoint_tag(checkpoint)
    if len({m.label for m in models.values()}) != len(models):
        raise ValueError(f"taus {list(taus)} give duplicate player names; use distinct temperatures")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_ladder(models, specs, anchor, games_per_pair, ladder_games, neighbours,
                       model_opponents, expert_refs, tag)
    match_kw = dict(seed=seed, opening_plies=opening_plies, book=book, max_plies=max_plies,
                    adjudicate=adjudicate)
    summaries = run_pairings(plan, out, workers=workers, progress=progress, **match_kw)
    rows, games = fit_ladder([out / "matches" / p.folder for p in plan], anchor, anchor_rating,
                             n_boot=n_boot, seed=seed, glicko_orders=glicko_orders,
                             n_games=[p.n_games for p in plan],
                             rated=[m.label for m in models.values()])
    by_name = {r["player"]: r for r in rows}
    series = {model_name: [{"tau": t, **_band(by_name[m.label])} for t, m in models.items()]}
    references = {s.label: _band(by_name[s.label]) for s in specs
                  if s.kind == "expert" and s.label in by_name}
    result = LadderResult(out, rows, series, references, summaries, anchor, anchor_rating, games)
    _write(result, plan, dict(checkpoint=ckpt_text, checkpoint_tag=tag, taus=[float(t) for t in taus],
                              opponents=[str(s) for s in specs], games_per_pair=games_per_pair,
                              ladder_games=ladder_games, model_name=model_name,
                              model_opponents=list(model_opponents) if model_opponents else None,
                              expert_refs=list(expert_refs) if expert_refs else None,
                              model_params=model_params, neighbours=neighbours,
                              n_boot=n_boot, glicko_orders=glicko_orders, **match_kw))
    return result


def checkpoint_tag(checkpoint: str | os.PathLike) -> str:
    """A short hash of the checkpoint's bytes. It names the model's match folders, so that a model
    retrained to the same path starts new matches instead of resuming the old model's games."""
    # Imported here: minitranscend.train imports torch, which ladders of engines never need.
    from ..train import CKPT_NAME

    path = Path(checkpoint)
    path = path / CKPT_NAME if path.is_dir() else path
    return file_digest(path, "sha1", 10)


def _band(row: dict[str, Any]) -> dict[str, float]:
    return {"rating": row["rating"], "lo": row.get("lo", row["rating"]),
            "hi": row.get("hi", row["rating"]), "perfect_score": row["perfect_score"]}


def _write(res: LadderResult, plan: Sequence[Pairing], settings: dict[str, Any]) -> None:
    out = res.out_dir
    doc = {"settings": settings, "engine": recorded_version(),
           "method": "maximum-likelihood Elo (Bradley-Terry, draws = half wins), percentile "
                     "bootstrap over games; Glicko-2 (paper) with opponents pinned at their ML ratings",
           "anchor": res.anchor, "anchor_rating": res.anchor_rating, "n_games": len(res.games),
           "plan": [{"a": str(p.a), "b": str(p.b), "n_games": p.n_games, "role": p.role, "tau": p.tau,
                     "folder": p.folder} for p in plan],
           "ratings": res.ratings, "series": res.series, "references": res.references,
           "matches": [{k: v for k, v in m.items() if k != "config"} for m in res.matches]}
    atomic_write_text(out / "ladder.json", json.dumps(doc, indent=2, default=str))
    atomic_write_csv(out / "ratings.csv", res.ratings)
    atomic_write_csv(out / "matches.csv", [{k: v for k, v in m.items()
                                            if not isinstance(v, (dict, list))} for m in res.matches])
    atomic_write_csv(out / "temperature.csv",
                     [{"model": n, **r} for n, rows in res.series.items() for r in rows])
