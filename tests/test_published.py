"""The helpers that give the book's chapters the shipped full-profile results (USE_PUBLISHED)."""
import json

import chess
import pytest

from minitranscend import experiment as ex
from minitranscend.experiment import shipped

pytestmark = pytest.mark.skipif(ex.published("full") is None,
                                reason="no shipped full-profile results in this installation")


def test_published_config_is_the_recorded_one():
    cfg = ex.published_config()
    raw = json.loads((ex.published("full") / "provenance.json").read_text())["config"]
    assert cfg.profile == "full" and cfg.n_games == raw["n_games"]
    assert cfg.taus == tuple(raw["taus"]) and isinstance(cfg.taus, tuple)
    assert [e.name for e in cfg.experts["A"]] == [e["name"] for e in raw["experts"]["A"]]
    assert all(e.habit == "K" for e in cfg.experts["B"])
    assert cfg.train_seeds == tuple(raw["train_seeds"])
    # nothing recorded is lost on the way (the chapters' sizes are not results)
    now = json.loads(json.dumps(cfg.to_dict()))
    assert {k: v for k, v in raw.items() if k != "chapters"} == {k: now[k] for k in raw if k != "chapters"}
    assert cfg.match_taus == tuple(raw["match_taus"])
    assert cfg.diversity_min_count == ex.published_results()["diversity"]["min_count"]


def test_published_model_loads():
    from minitranscend.train import load_checkpoint

    cfg = ex.published_config()
    for ds in ex.DATASETS:
        for seed in cfg.train_seeds:
            path = ex.published_model(ds, seed=seed)
            assert path.name == f"model-{ds}-s{seed}.pt"
            model, tok, meta = load_checkpoint(path, "cpu")
            assert tok.name == "board" and model.num_params() > 0
            assert meta["train_config"]["seed"] == seed
        assert ex.published_model(ds) == ex.published_model(ds, seed=cfg.train_seeds[0])
    with pytest.raises(ValueError):
        ex.published_model("C")


def test_published_states_are_the_reward_states():
    rewards = ex.published_results()["rewards"]
    states = ex.published_states()
    assert len(states) == rewards["sets"]["A-games"]["n_states"] == rewards["summary"][0]["n_states"]
    first = ex.published_states(5)
    assert [b.fen() for _, b in first] == [b.fen() for _, b in states[:5]]
    game, board = first[0]
    assert isinstance(game, str) and isinstance(board, chess.Board) and not board.is_game_over()


def test_published_results_and_provenance():
    from minitranscend.train import load_checkpoint

    res = ex.published_results()
    assert set(res) == {"folder", "rewards", "own_games", "habits", "diversity", "ladders", "history"}
    assert res["history"]["history_moves"] == 8
    assert (res["folder"] / "rewards_per_state.csv").exists()
    assert set(res["ladders"]) == set(ex.LADDER_DATASETS)
    assert set(res["rewards"]["sets"]) == {f"{p}{ds}" for ds in ex.DATASETS
                                           for p in ("val-",)} | {f"{ds}-games" for ds in ex.DATASETS}
    assert set(res["own_games"]["sets"]) == {f"own-{ds}" for ds in ex.LADDER_DATASETS}
    assert set(res["diversity"]["datasets"]) == set(ex.DATASETS)
    for ladder in res["ladders"].values():
        assert ex.ladder_verdict(ladder)["best_expert"]
    facts = ex.published_provenance()
    assert facts["command"].startswith("minitranscend experiment --profile full")
    assert facts["commit_short"] == facts["commit"][:7]
    assert facts["stockfish"].startswith("Stockfish")
    assert facts["run"]["wall_s"] > 0 and facts["run"]["config_commit"]
    for ds in ex.DATASETS:
        f = facts[ds]
        assert 0 < f["best_minutes"] <= f["minutes"] and 0 < f["best_step"] <= f["steps"]
        # the shipped checkpoint is the best one the metrics record
        _, _, meta = load_checkpoint(ex.published_model(ds), "cpu")
        assert meta["state"]["step"] == f["best_step"]


def test_missing_results_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(shipped, "PUBLISHED", tmp_path)
    with pytest.raises(FileNotFoundError, match="--publish"):
        ex.published_results()
    with pytest.raises(FileNotFoundError, match="USE_PUBLISHED"):
        ex.published_model("A")
