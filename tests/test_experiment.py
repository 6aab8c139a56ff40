"""The experiment's bookkeeping and chapter 7's checkers (the pipeline itself runs in the book)."""
import json
from pathlib import Path
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from minitranscend import experiment as ex
from minitranscend import settings
from minitranscend.evaluation.ladder import LADDER
from minitranscend.experiment import stages
from minitranscend.settings import PROFILES, experiment_config, kg_config
from minitranscend.exercises import check_gain_share, check_mixture_vote


def test_profiles_and_settings_tagged_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITRANSCEND_RUNS", str(tmp_path))
    ci, full = ex.config("ci"), ex.config("full")
    assert ci.n_games < full.n_games and ci.train["max_iters"] < full.train["max_iters"]
    with pytest.raises(ValueError, match="profile"):
        ex.config("fast")
    # A and B differ in their experts, so in their folders; the same settings give the same folder
    assert ex.data_dir(ci, "A") != ex.data_dir(ci, "B")
    assert ex.data_dir(ci, "A") == ex.data_dir(ex.config("ci"), "A")
    other = replace(ci, experts={**ci.experts, "A": ex.diverse_experts(eps=0.1)})
    assert ex.data_dir(other, "A") != ex.data_dir(ci, "A")
    other = replace(ci, train=dict(ci.train, lr=1e-4))
    assert ex.model_dir(other, "A") != ex.model_dir(ci, "A")
    with pytest.raises(ValueError, match="dataset"):
        ex.train_config(ci, "C")


def test_folder_names_are_the_settings_hashes_of_before(tmp_path, monkeypatch):
    # the names the shipped run's provenance and existing runs/ folders carry: a change here
    # orphans every finished run
    monkeypatch.setenv("MINITRANSCEND_RUNS", str(tmp_path))
    names = {p: [f(ex.config(p), ds).name for ds in ex.DATASETS for f in (ex.data_dir, ex.model_dir)]
             + [ex.ladder_dir(ex.config(p), ds).name for ds in ex.LADDER_DATASETS] for p in PROFILES}
    assert names["ci"] == ["data-A-a16e7a83", "model-A-2ef44d9c", "data-B-e60953e0",
                           "model-B-0324a368", "data-S-cf896acf", "model-S-cf795317",
                           "ladder-A-fe3b29ee", "ladder-B-df5a6f57"]
    assert names["full"] == ["data-A-debc84e0", "model-A-91dd12d2", "data-B-ca710d41",
                             "model-B-6fccbe22", "data-S-ad6ed411", "model-S-f92d55f1",
                             "ladder-A-11c8268a", "ladder-B-99859af3"]
    full = ex.config("full")
    seeds = [ex.model_dir(full, "A", s).name for s in full.train_seeds]
    assert seeds == ["model-A-91dd12d2", "model-A-5f178a83", "model-A-93355c87"]


def test_ladder_stage_rates_on_the_one_ladder(tmp_path, monkeypatch):
    # the experiment's ladder is evaluation.ladder.LADDER (references, anchor, ply-cap rule, draw
    # avoidance): no copy of its rules in the settings or the stage
    monkeypatch.setenv("MINITRANSCEND_RUNS", str(tmp_path))
    seen = {}
    monkeypatch.setattr(stages, "ensure_model",
                        lambda cfg, ds, progress=True, seed=None: tmp_path / "best.pt")
    monkeypatch.setattr(stages, "evaluate_temperatures", lambda *a, **kw: seen.update(args=a, kw=kw))
    # the temperature the reward stage chose on validation states, and tau = 1
    monkeypatch.setattr(stages, "reward_stage",
                        lambda cfg, progress=True: {"chosen_tau": {"A": {"0": 0.1}}})
    cfg = ex.config("ci")
    stages.ladder_stage(cfg, "A", progress=False)
    assert seen["args"][1] == (0.1, 1.0)
    assert seen["kw"]["model_name"] == "model-A-s0"
    opponents = seen["args"][2]
    assert [o.label for o in opponents] == ([o.label for o in LADDER.opponents()]
                                            + [e.name for e in cfg.experts["A"]])
    assert seen["kw"]["ladder"] is LADDER
    assert not {"anchor", "anchor_rating", "adjudicate", "model_params"} & set(seen["kw"])
    assert seen["kw"]["model_opponents"] == [LADDER.anchor] + [e.name for e in cfg.experts["A"]]
    for name in ("REFERENCE_OPPONENTS", "ANCHOR", "ANCHOR_RATING", "ADJUDICATE_CP"):
        assert not hasattr(settings, name) and not hasattr(ex, name)


def test_one_settings_module_for_every_profile():
    for profile in PROFILES:
        cfg, kg = experiment_config(profile), kg_config(profile)
        assert cfg.profile == kg.name == profile
        assert set(cfg.match_taus) <= set(cfg.taus) and set(cfg.chapters.match_taus) <= set(cfg.taus)
        sizes = cfg.chapters
        assert sizes.model_opponents and set(sizes.ladder) >= {"random", "sf-n10", "sf-n100"}
        # the stamp of a stage leaves out what changes no result
        assert "chapters" not in cfg.stamp() and "workers" not in cfg.stamp()
        assert replace(cfg, workers=7).stamp() == cfg.stamp()
        with pytest.raises(FrozenInstanceError):
            cfg.n_games = 1
        # training runs a number of steps, never a wall clock: every machine trains one model
        assert "max_minutes" not in cfg.train and cfg.train["max_iters"] < 10**6
        assert set(cfg.experts) == set(ex.DATASETS) and len(cfg.train_seeds) >= 2
    ci, full = experiment_config("ci"), experiment_config("full")
    # one diversity threshold per profile: the paper's 100 in the full run, 5 on the ci
    # profile's 200 games
    assert (ci.diversity_min_count, full.diversity_min_count) == (5, 100)
    assert full.match_taus == ci.match_taus == (1.0,)  # beside the chosen temperature
    assert len(full.train_seeds) >= 3 and full.n_val_states and full.n_own_states
    assert full.chapters.match_taus == full.taus and ci.chapters.match_taus == (0.001, 1.0)
    assert ci.chapters.model_opponents[-1] == ci.experts["A"][0].name
    assert kg_config("full").transformer.steps > kg_config("ci").transformer.steps
    with pytest.raises(ValueError, match="profile"):
        kg_config("fast")
    assert "validation states" in settings.ANALYSIS_PLAN and settings.TAU_RULE in settings.ANALYSIS_PLAN


def test_diverse_experts_differ_and_coinciding_share_the_habit():
    diverse, coinciding = ex.diverse_experts(), ex.coinciding_experts()
    assert len({e.habit for e in diverse}) == 4 and {e.habit for e in coinciding} == {"K"}
    assert coinciding[0].habit in {e.habit for e in diverse}  # B's experts are copies of one of A's
    # the design's premise: in A the engine move out-weighs every habit move, in B it does not
    rate = diverse[0].habit_rate
    assert 1 - rate > rate / len(diverse) and rate > 1 - rate
    assert [e.habit_rate for e in diverse] == [e.habit_rate for e in coinciding]
    assert ex.single_expert() == [e for e in diverse if e.habit == "R"]


def test_ladder_verdict_needs_non_overlapping_intervals():
    def result(lo):
        return {"series": {"m": [{"tau": 0.1, "rating": 700, "lo": lo, "hi": 760},
                                 {"tau": 1.0, "rating": 200, "lo": 150, "hi": 250}]},
                "references": {"e1": {"rating": 530, "lo": 490, "hi": 590},
                               "e2": {"rating": 500, "lo": 450, "hi": 550}}}
    v = ex.ladder_verdict(result(600))
    assert v["best_tau"] == 0.1 and v["best_expert"] == "e1" and v["transcends"]
    assert not ex.ladder_verdict(result(580))["transcends"]  # 580 < e1's upper bound 590


def test_shipped_full_results_are_complete():
    d = ex.published("full")
    assert d is not None, "the package ships the full profile's results (experiment --publish)"
    cfg = ex.published_config()
    models = [f"model-{ds}-s{s}.pt" for ds in ex.DATASETS for s in cfg.train_seeds]
    for name in ["rewards_summary.json", "rewards_per_state.csv", "own_games_summary.json",
                 "ladder-A-ladder.json", "ladder-B-ladder.json", "provenance.json", *models]:
        assert (d / name).is_file(), name
        assert (d / name).stat().st_size < 10_000_000


def test_chapter7_checkers():
    assert check_mixture_vote(0.295, "A")[0] and check_mixture_vote(0.295, "B")[0]
    assert check_mixture_vote(0.12, "A", "habit")[0] and check_mixture_vote(0.435, "B", "habit")[0]
    assert "by accident" in check_mixture_vote(0.28, "A")[1]
    assert "king-marcher alone" in check_mixture_vote(0.435, "A", "habit")[1]
    assert not check_mixture_vote("many", "A")[0]
    gains = np.array([0.3, 0.1, -0.05, 0.2])
    assert check_gain_share(0.3 / 0.55, gains, top=0.25)[0]
    assert not check_gain_share(0.5, gains, top=0.25)[0]


def test_shipped_checkpoint_plays_legal_moves():
    import chess

    from minitranscend.policy import move_distribution
    from minitranscend.train import load_checkpoint

    model, tok, meta = load_checkpoint(ex.published_model("A"), "cpu")
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
    dist = move_distribution(model, tok, board)
    assert set(dist.moves) == set(board.legal_moves)
    assert abs(dist.probs.sum() - 1) < 1e-6
    assert meta["data_fingerprint"]


def test_shipped_full_results_match_the_full_config_and_make_the_readme_table():
    shipped = ex.published("full")
    assert shipped is not None
    cfg = ex.config("full")
    prov = json.loads((shipped / "provenance.json").read_text())
    for ds in ex.DATASETS:  # the shipped run used the experts and seeds this code defines
        assert [e["name"] for e in prov[ds]["experts"]] == [e.name for e in cfg.experts[ds]]
        assert sorted(prov[ds]["train"]) == [str(s) for s in cfg.train_seeds]
    assert prov["config"]["train_seeds"] == list(cfg.train_seeds)
    # pre-registration: the settings were committed before the run started, and not modified
    run = prov["run"]
    assert run["finished"] and run["settings_modified_since_commit"] is False
    assert run["config_committed_at"] < run["started_at"]
    # the measured wall time of the one command is what the README says (the target is an hour;
    # the shipped run took 61.6 minutes, and the README says so)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"{run['wall_s'] / 60:.1f} minutes on two CPU cores" in readme
    table = ex.results_markdown(cfg, source=shipped)
    for name in [e.name for ds in ex.DATASETS for e in cfg.experts[ds]] + ["random", "engine"]:
        assert f"| {name}" in table
    for ds in ex.DATASETS:
        assert f"| vote-{ds} |" in table
        for seed in cfg.train_seeds:
            assert f"(seed {seed}) |" in table
    assert run["config_commit"][:7] in table
    with pytest.raises(FileNotFoundError, match="run `minitranscend experiment"):
        ex.results_markdown(cfg, source=shipped / "missing")


def test_reward_gap_series_reproduces_the_shipped_comparisons():
    shipped = ex.published("full")
    cfg = ex.config("full")
    results = json.loads((shipped / "rewards_summary.json").read_text())
    for ds in ex.DATASETS:
        series = ex.reward_gap_series(shipped / "rewards_per_state.csv", results, cfg, ds)
        comp = results["comparisons"][ds][f"{ds}-games"]
        for row in comp["seeds"]:
            point = next(r for r in series[f"seed {row['seed']}"] if r["tau"] == row["tau"])
            d = row["model_minus_best_expert"]
            # the same states, games, seed and resampling: the same interval (the CSV keeps 5 digits)
            assert (point["rating"], point["lo"], point["hi"]) == pytest.approx(
                (d["mean"], d["lo"], d["hi"]), abs=2e-5)
        # the chosen temperatures came from the validation states, not from these
        for seed, tau in results["chosen_tau"][ds].items():
            assert tau in cfg.taus and any(r["seed"] == int(seed) and r["tau"] == tau
                                           for r in comp["seeds"])


def test_the_ablation_is_the_mechanisms():
    """The shipped run's design claims, as measured: A's vote above A's best expert, B's vote
    below B's best expert, on the test states of each dataset's own games."""
    comp = ex.published_results()["rewards"]["comparisons"]
    assert comp["A"]["A-games"]["vote_minus_best_expert"]["lo"] > 0
    assert comp["B"]["B-games"]["vote_minus_best_expert"]["hi"] < 0
