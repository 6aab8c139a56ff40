"""Every setting that differs between the ``ci`` and ``full`` profiles, in one typed place.

A *profile* sizes all the work the course does: ``ci`` runs the whole book in minutes on 2 CPU
cores (for CI and a first read), ``full`` is the real experiment. Everything that depends on it
comes from here, so the command line, the stages and the chapters cannot disagree:

* :func:`experiment_config` -> :class:`ExperimentConfig`, the chess experiment (chapters 2-7 and
  ``minitranscend experiment``), with :class:`ChapterSizes`, how much each chapter computes;
* :func:`kg_config` -> :class:`KGConfig`, the knowledge-graph experiments (chapter 8 and
  ``minitranscend kg run``).

The expert panels of the two datasets and the model recipe live here too, because the
experiment's folders are named after them (changing one starts new folders). The rating ladder
(reference opponents, anchor, ply-cap rule) is not a profile setting: both profiles rate on the
course's one ladder, :data:`minitranscend.evaluation.ladder.LADDER`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .players import ExpertConfig

if TYPE_CHECKING:  # only for the annotations: see _kg_graph below
    from .kg.graph import GraphConfig
    from .kg.learners import TransformerConfig

PROFILES = ("ci", "full")
# A: diverse experts; B: the ablation, experts whose errors coincide; S: the single-expert control
DATASETS = ("A", "B", "S")
LADDER_DATASETS = ("A", "B")  # the datasets whose models are also rated in games


def check_dataset_name(dataset: str) -> str:
    """``dataset`` if it is one of :data:`DATASETS`, else a ValueError that lists them."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    return dataset


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else a ValueError that lists them."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {PROFILES}")
    return profile


# --------------------------------------------------------------------------- the expert panels
# The experts' error model, in one place (its code: minitranscend.players.expert_mixture). Every
# expert is the same engine (Stockfish at ENGINE_NODES nodes) with two kinds of error:
# * a random slip with probability SLIP (a uniformly random legal move: noise a vote removes);
# * a habit with probability HABIT_RATE of the rest: its habit piece's most forward move.
# With four different habits (dataset A) each habit move carries HABIT_RATE / 4 of the
# mixture's non-slip mass and the engine move 1 - HABIT_RATE: the exact majority vote plays the
# engine move (HABIT_RATE < 4/5). With one shared habit (dataset B) the vote plays the habit
# move (HABIT_RATE > 1/2) wherever it applies.
#
# Chosen before the full run, from pilots on these 2-core machines (issue #13's closing note has
# the numbers; docs/experiment_design.md the table):
# * the king's habit, because it applies in ~97% of states (the queen's in 17-40%: it is soon
#   lost) and costs 0.09-0.12 reward where it applies: B's exact vote is *below* B's experts
#   (analytic, on 250 + 250 ci states scored at depth 8: -0.022 on A-game states, -0.016 on
#   B-game states at SLIP 0.5), while A's vote is above A's best expert (+0.079 / +0.059);
# * SLIP 0.5, not 0.2: at 0.2 the vote's ceiling is closer and the model (board-tiny, 4 min,
#   1,500 games) fell *below* the best expert (-0.016; its top move was a habit move in 44% of
#   states, the engine move in 17%); at 0.5 it rose above (+0.014, recovery ratio 0.16);
# * 10 engine nodes: 10 and 100 earned the same reward (0.519 / 0.518) and a model imitated
#   them equally badly (top move = engine move 17.5% / 18.5%); 1 node did not help (16.8%).
HABIT_RATE = 0.6
SLIP = 0.5
ENGINE_NODES = 10
SHARED_HABIT = "K"            # dataset B's one habit (and dataset A's expert-king's)
CONTROL_EXPERT = "R"          # dataset S: the rook expert alone (A's best expert in the pilot)
PIECE_WORDS = {"N": "knight", "B": "bishop", "R": "rook", "Q": "queen", "K": "king", "P": "pawn"}


def diverse_experts(habit_rate: float = HABIT_RATE, eps: float = SLIP, nodes: int = ENGINE_NODES,
                    pieces: str = "BRKP") -> list[ExpertConfig]:
    """Dataset A's panel: four experts of equal engine strength and slip rate, each with a
    *different* habit (pushing its bishops, rooks, king or pawns up the board). Of the mixture's
    non-slip mass each habit move carries habit_rate / 4, the engine move at least
    1 - habit_rate: the mode is the engine move, which no single expert plays most of the time.

    Used in chapter 7."""
    return [ExpertConfig(f"expert-{PIECE_WORDS[p]}", nodes=nodes, eps=eps, habit=p,
                         habit_rate=habit_rate) for p in pieces]


def coinciding_experts(habit_rate: float = HABIT_RATE, eps: float = SLIP, nodes: int = ENGINE_NODES,
                       piece: str = SHARED_HABIT) -> list[ExpertConfig]:
    """Dataset B's panel: four experts who share one habit (each is dataset A's expert-king with
    its own random stream). Their habit move is the mode of their games, so the exact majority
    vote, and a low-temperature model that learned it, plays it *every* time it applies: the
    diversity ablation. The king, because its habit applies almost everywhere and costs more
    than the slips a vote removes: B's vote is measured below B's experts (chapter 7).

    Used in chapter 7."""
    return [ExpertConfig(f"expert-{PIECE_WORDS[piece]}{i}", nodes=nodes, eps=eps, habit=piece,
                         habit_rate=habit_rate) for i in range(1, 5)]


def single_expert(habit_rate: float = HABIT_RATE, eps: float = SLIP, nodes: int = ENGINE_NODES,
                  piece: str = CONTROL_EXPERT) -> list[ExpertConfig]:
    """Dataset S's panel, the single-expert control: dataset A's expert-rook alone, playing
    itself. Its exact vote is its own mode: the habit move wherever it applies (habit_rate >
    1/2), so the theory predicts denoising alone removes the slips but keeps (and hardens) the
    habit. Does a model trained on it beat its one expert, and does A's diverse panel add
    anything beyond it?

    Used in chapter 7."""
    return [ExpertConfig(f"expert-{PIECE_WORDS[piece]}", nodes=nodes, eps=eps, habit=piece,
                         habit_rate=habit_rate)]


# The model recipe both profiles use (keys of minitranscend.train.TrainConfig): a board encoder
# with the from/to policy head, trained on legal-move-masked cross-entropy from the mover's point
# of view, one torch thread (on 2 cores, two single-thread jobs beat one two-thread job). Chosen
# by measurement: on 2 CPU cores it learns far more per second than a move-history GPT (chapter 4
# and the README say by how much). Training runs a fixed number of steps (not a wall clock), so
# every machine trains the same model (the earlier 20-minute wall clock made a faster machine
# train a different model); 10% of the games are held out, half for validation
# (loss, best checkpoint, temperature choice), half for the test (train.game_split).
BOARD_RECIPE: dict[str, Any] = dict(
    tokenizer="board", preset="board-tiny", batch_size=64, lr=3e-3, min_lr=3e-4,
    weight_decay=0.01, warmup_iters=100, max_iters=10**9, eval_interval=250, eval_iters=8,
    canonical=True, legal_loss=True, threads=1, val_fraction=0.1)

# The analysis, fixed before the run (pre-registration; printed in the README and chapter 7):
TAU_RULE = ("for each model (dataset, seed): the temperature of cfg.taus with the highest mean "
            "per-state reward on the validation states of its own dataset's held-out games "
            "(ties: the lowest); reported on test states, which share no game with them")
ANALYSIS_PLAN = (
    TAU_RULE + ". On each test set the model at that temperature is compared, state by state, "
    "with its dataset's best expert on the same states (the expert with the highest mean there) "
    "and with the panel's exact majority vote; a seed is above (below) its best expert when the "
    "95% cluster-bootstrap interval over held-out games of the paired difference is above "
    "(below) zero; the recovery ratio (model - best expert) / (vote - best expert) is reported "
    "only where the vote's own gap has an interval excluding zero. Games: the first seed's model "
    "at its chosen temperature and at tau = 1 against the random player and its experts, "
    "match_games per temperature, the course's ladder (random = 0, games at the ply cap "
    "adjudicated by Stockfish at 400 centipawns)")

# Does a model that can tell who is playing still vote? (chapter 7's last section; fixed before
# its run like the rest.) The same recipe, data, steps and seeds as dataset A's board models,
# with the mover's own last HISTORY_MOVES moves as extra input.
HISTORY_MOVES = 8
HISTORY_PLAN = (
    "dataset A only; the board recipe plus the mover's last 8 moves (piece type and target "
    "square each), the same 5,000 steps and training seeds as the board models; temperature by "
    "TAU_RULE on the same validation states; on the same test states each seed is compared with "
    "the best expert, the panel's exact vote, the mover's own mode (the argmax of the moving "
    "expert's exact distribution: the prediction for a model that knows who moves) and the "
    "board model of the same seed. Identification is measured by the log-loss of the experts' "
    "actual moves (tau = 1) and by the top move's rate of being the mover's habit move vs "
    "another expert's, per expert, on test states where the mover's habit applies and differs "
    "from the engine move. Prediction: if it identifies the mover, its gain over the best "
    "expert shrinks towards the mover-mode policy's")

# --------------------------------------------------------------------------- the chess experiment

@dataclass(frozen=True)
class PaperSettings:
    """Chapter 10 (the paper's own models): which checkpoints it rates, how many games, and which
    Lichess games it filters. ``ci`` exercises every step on tiny stand-ins and the shipped
    real-game sample; ``full`` is the Colab GPU run (about an hour, estimated)."""

    download: bool                  # True: the released checkpoints (Hugging Face); False: stand-ins
    caps: tuple[int, ...]           # rating caps of the models rated (the paper's Figure 1: 1000, 1500)
    expect: str | None              # model size the loader insists on (None: any, for stand-ins)
    standin_steps: int              # training steps of each tiny stand-in (ci only)
    taus: tuple[float, ...]         # temperatures each model plays at
    levels: tuple[int, ...]         # Stockfish Skill Levels (the paper's 1, 3, 5)
    games: int                      # games per (cap, temperature, level), half with each colour
    sampler: str                    # "paper" (per character, 5 tries) or "move" (exact temperature)
    move_time: float                # Stockfish seconds per move (the paper's 0.1)
    max_plies: int                  # ply cap, then a draw (the paper's 90 moves each)
    n_boot: int                     # bootstrap resamples of every rating interval
    glicko_orders: int              # Glicko-2 replays in random game orders
    lichess_month: str | None       # a Lichess dump to download ("2013-01"); None: the shipped sample
    lichess_caps: tuple[int, ...]   # rating caps the Lichess games are filtered at


def paper_settings(profile: str) -> PaperSettings:
    """Chapter 10's sizes. ``ci``: two stand-ins trained for seconds, 2 games per pairing against
    Skill 1 at 0.01 s, and the 21-game real sample, whose players are all rated above 1400, so
    two caps above the paper's are added to keep some games. ``full``: the released 1000- and
    1500-cap models, 4 temperatures x Skill 1/3/5 x 16 games (384 games, about 50 minutes on a
    Colab GPU: an estimate, not a measurement), and the 2013-01 Lichess dump."""
    if check_profile(profile) == "ci":
        return PaperSettings(
            download=False, caps=(1000, 1500), expect=None, standin_steps=120,
            taus=(0.001, 1.0), levels=(1,), games=2, sampler="paper", move_time=0.01,
            max_plies=40, n_boot=50, glicko_orders=2, lichess_month=None,
            lichess_caps=(1000, 1300, 1500, 1700, 2000))
    return PaperSettings(
        download=True, caps=(1000, 1500), expect="chessformer-50m", standin_steps=0,
        taus=(0.001, 0.1, 0.5, 1.0), levels=(1, 3, 5), games=16, sampler="paper", move_time=0.1,
        max_plies=180, n_boot=1000, glicko_orders=20, lichess_month="2013-01",
        lichess_caps=(1000, 1300, 1500))


@dataclass(frozen=True)
class ChapterSizes:
    """How much the chapters compute beside the experiment's own stages (the ``N_...``
    parameters of their set-up cells). They never enter a stage's stamp or a folder's name."""

    toy_states: int                   # ch1: states of the toy world
    toy_taus: int                     # ch1: temperatures on the toy world's curves
    training_positions: int           # ch4: held-out positions the trained model is measured on
    sampling_positions: int           # ch5: held-out positions of the entropy curve
    ladder: tuple[str, ...]           # ch6: reference players of the rating ladder
    model_opponents: tuple[str, ...]  # ch6: whom the model plays at each temperature
    match_taus: tuple[float, ...]     # ch6: the temperatures of its rating-vs-temperature curve
    ladder_games: int                 # ch6: games per opponent-vs-opponent pairing
    n_boot: int                       # ch6: bootstrap resamples of every interval
    n_orders: int                     # ch6: Glicko-2 replays in random game orders
    paper: PaperSettings              # ch10: the paper's own models and Lichess games


@dataclass(frozen=True)
class ExperimentConfig:
    """The chess experiment's settings in one profile (see :func:`experiment_config`). Every
    analysis choice is here, committed before a run: the temperature rule (:data:`TAU_RULE`),
    the state counts, the seeds, the games and their adjudication (the ladder's)."""

    profile: str
    n_games: int                          # games per dataset
    experts: dict[str, list[ExpertConfig]]  # the panel of each dataset ("A", "B", "S")
    train: dict[str, Any]                 # minitranscend.train.TrainConfig fields (the recipe)
    taus: tuple[float, ...]               # temperatures of the per-state reward
    match_taus: tuple[float, ...]         # temperatures the model plays games at, beside its
    #                                       chosen one (TAU_RULE): tau = 1, its own distribution
    n_states: int                         # test states per state set (A-games, B-games, S-games)
    n_val_states: int                     # validation states per dataset (the temperature rule)
    n_own_states: int                     # states from the model's own games at its chosen tau
    reward_depth: int                     # Stockfish depth that scores them
    match_games: int                      # games per temperature in the ladder
    max_plies: int                        # ply cap of every game (data and matches)
    # Diversity (the paper's measure) counts opening states seen more than this many times.
    # The paper uses 100; the full profile keeps it. The ci profile's 200 games leave 3 states
    # per dataset above 20 and 15-18 above 5: 5 is the largest threshold that still averages
    # over a dozen states. Chapters 2 and 7 and the diversity stage all read this one value.
    diversity_min_count: int
    chapters: ChapterSizes
    train_seeds: tuple[int, ...] = (0,)   # one model per dataset and seed (the spread)
    seed: int = 0                         # data, states, matches, bootstraps
    workers: int = 2                      # processes for games, analysis and training

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stamp(self) -> dict[str, Any]:
        """The settings a stage's results depend on (its cache stamp): all but the chapters'
        sizes and the number of worker processes, which change no result."""
        return {k: v for k, v in self.to_dict().items() if k not in ("chapters", "workers")}


def experiment_config(profile: str = "ci") -> ExperimentConfig:
    """The chess experiment's settings. ``ci``: minutes on 2 cores, for the book's CI, every
    stage exercised; ``full``: the real experiment (budget: one command, under an hour on 2
    cores, seeds included).

    Used in chapters 1-7 (also importable as ``minitranscend.experiment.config``)."""
    experts = {"A": diverse_experts(), "B": coinciding_experts(), "S": single_expert()}
    names_a = [e.name for e in experts["A"]]
    if check_profile(profile) == "ci":
        taus = (0.001, 0.1, 0.5, 1.0)
        return ExperimentConfig(
            profile="ci", n_games=200, experts=experts,
            train=dict(BOARD_RECIPE, max_iters=300, eval_interval=100, eval_iters=4),
            taus=taus, match_taus=(1.0,), n_states=40, n_val_states=30, n_own_states=30,
            reward_depth=6, match_games=10, max_plies=150, diversity_min_count=5,
            train_seeds=(0, 1),
            chapters=ChapterSizes(
                toy_states=500, toy_taus=40, training_positions=300, sampling_positions=200,
                ladder=("random", "sf-n10", "sf-n100"),
                model_opponents=("random", "sf-n10", names_a[0]), match_taus=(0.001, 1.0),
                ladder_games=4, n_boot=300, n_orders=50, paper=paper_settings("ci")))
    taus = (0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5)
    return ExperimentConfig(
        profile="full", n_games=FULL_GAMES, experts=experts,
        train=dict(BOARD_RECIPE, max_iters=FULL_STEPS),
        taus=taus, match_taus=(1.0,), n_states=1200, n_val_states=600, n_own_states=600,
        reward_depth=8, match_games=200, max_plies=250, diversity_min_count=100,
        train_seeds=(0, 1, 2),
        chapters=ChapterSizes(
            toy_states=20_000, toy_taus=200, training_positions=2000, sampling_positions=1000,
            ladder=("random", "sf-n10", "sf-n100", "sf-n300", "sf-n1000"),
            model_opponents=("sf-n10", "sf-n100", *names_a), match_taus=taus,
            ladder_games=40, n_boot=2000, n_orders=200, paper=paper_settings("full")))


FULL_GAMES = 6000   # per dataset
FULL_STEPS = 5000   # training steps of every full-profile model (~6 min each on one core)


# --------------------------------------------------------------------------- the knowledge graph
# The graph's and the transformer's own configs live with their code (minitranscend.kg). They
# are imported when a KGConfig is made, not when this module is: importing minitranscend.kg runs
# its package (torch: 1.3 s measured, against 0.08 s for this whole module), and
# minitranscend.kg.experiments imports this module, so a top-level import would make the two
# import each other.

def _kg_graph() -> GraphConfig:
    from .kg.graph import GraphConfig

    return GraphConfig()


def _kg_transformer(**kwargs: Any) -> TransformerConfig:
    from .kg.learners import TransformerConfig

    return TransformerConfig(**kwargs)


@dataclass(frozen=True)
class KGConfig:
    """The knowledge-graph experiments' settings in one profile (see :func:`kg_config`). Their
    result files record these (as ``"profile"``) and are reused while they match."""

    name: str = "ci"
    graph: GraphConfig = field(default_factory=_kg_graph)
    seeds: int = 3
    # denoising
    n_experts: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50, 100)
    coverages: tuple[float, ...] = (0.1, 0.2, 0.4)
    # (n_experts, coverage) points where a transformer is trained too; none in "ci" (too slow)
    denoise_transformer: tuple[tuple[int, float], ...] = ()
    # selection
    alphas: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)
    select_transformer: tuple[float, ...] = ()
    two_expert_alphas: tuple[float, ...] = tuple(k / 2 for k in range(-6, 7))  # -3, -2.5 .. 3
    home_coverage: float = 0.9
    away_coverage: float = 0.1
    statements_per_fact: int = 2   # each expert writes statements_per_fact * n_facts statements
    # how a wrong answer is made: "tail" (a random entity of the tail's type) or "head_or_tail"
    # (half of them head swaps, as the paper's corruption of the head or the tail)
    corruption: str = "tail"
    # how the transformers' training text is cut: "entity" (the paper's: one paragraph per
    # writer and head entity) or "sentence" (every statement on its own)
    paragraphs: str = "entity"
    # selection sweep (the paper's Fig. 5 axis): experts who each know one cluster of facts, a
    # share `coverage` of the graph (1/coverage clusters), and write e^alpha times more there
    select_sweep_coverages: tuple[float, ...] = (0.1, 0.01)
    select_sweep_experts: tuple[int, ...] = (1, 3, 10, 30, 100, 300)
    select_sweep_alpha: float = 5.0          # log writing weight; paper's alpha = 1 - e^-alpha
    select_sweep_correlation: float = 1.0    # non-experts share one misconception per fact
    # (coverage, n_experts) sweep points where transformers are trained too; none in "ci"
    select_sweep_transformer: tuple[tuple[float, int], ...] = ()
    transformer_seeds: int = 2               # seeds of every transformer that has an interval
    # a graph ten times larger (kg.graph.graph_preset("large")) on which the selection sweep
    # and the A.2 threshold are computed again, by counting only; None: not at all
    large_graph: GraphConfig | None = None
    # generalization
    n_clusters: int = 4
    gen_cluster_scheme: str = "region"       # "region" (local expertise) or "random"
    validation_fraction: float = 0.2         # of the within-expertise two-hops, held out
    gen_fractions: tuple[float, ...] = (0.0, 1.0)   # shares of the train split written
    phrasings: int = 1                       # phrasings per relation of the one-hop facts (1-4)
    kappa_comp: int = 0                      # Appendix A.2's cost of composing (a lower bound: 0)
    threshold_settings: tuple[tuple[str, int], ...] = (
        ("random", 2), ("random", 4), ("random", 8), ("region", 2), ("region", 4), ("region", 8))
    transformer: TransformerConfig = field(default_factory=lambda: _kg_transformer(
        block_size=32, batch_size=64, n_embd=64, steps=150, learning_rate=3e-3))
    gen_transformer: TransformerConfig = field(default_factory=lambda: _kg_transformer(
        n_layer=1, block_size=32, batch_size=32, n_embd=64, learning_rate=1e-2, warmup=20))
    generalization_steps: int = 120

    def __post_init__(self) -> None:
        if self.corruption not in ("tail", "head_or_tail"):
            raise ValueError(f"corruption must be 'tail' or 'head_or_tail', got {self.corruption!r}")
        if self.paragraphs not in ("entity", "sentence"):
            raise ValueError(f"paragraphs must be 'entity' or 'sentence', got {self.paragraphs!r}")
        if self.gen_cluster_scheme not in ("region", "random"):
            raise ValueError(f"gen_cluster_scheme must be 'region' or 'random', "
                             f"got {self.gen_cluster_scheme!r}")
        if not 1 <= self.phrasings <= 4:
            raise ValueError(f"phrasings must be in 1..4, got {self.phrasings}")
        if any(not 0.0 <= f <= 1.0 for f in self.gen_fractions):
            raise ValueError(f"gen_fractions are shares in [0, 1], got {self.gen_fractions}")


def kg_config(profile: str = "ci") -> KGConfig:
    """The knowledge-graph experiments' settings. ``ci``: a minute for the whole chapter;
    ``full``: a few minutes per experiment on 2 cores, with transformers.

    Used in chapter 8."""
    if check_profile(profile) == "ci":
        return KGConfig()
    from .kg.graph import graph_preset

    return KGConfig(name="full", seeds=5, denoise_transformer=((5, 0.4), (50, 0.4)),
                    large_graph=graph_preset("large"),
                    select_transformer=(0.0, 4.0),
                    select_sweep_experts=(1, 3, 10, 30, 100, 300, 1000),
                    select_sweep_transformer=((0.1, 30),),
                    transformer=_kg_transformer(block_size=32, batch_size=128, steps=600,
                                                learning_rate=3e-3),
                    transformer_seeds=2, gen_fractions=(0.0, 0.25, 0.5, 1.0), phrasings=3,
                    gen_transformer=_kg_transformer(block_size=32, batch_size=64, n_embd=64,
                                                    learning_rate=3e-3),
                    generalization_steps=400)
