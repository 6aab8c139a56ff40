"""The rating ladder (evaluation.ladder): planning, resumable parallel matches, the fit, the files.

Real Stockfish, real games, kept tiny: short ply caps and a handful of games.
"""
from __future__ import annotations

import csv
import json

import pytest
import torch

from minitranscend.evaluation.ladder import (as_opponent, checkpoint_tag, connect_opponents,
                                             evaluate_temperatures, plan_ladder)
from minitranscend.player_specs import PlayerSpec, expert_spec, model_spec
from minitranscend.evaluation.match import load_games
from minitranscend.evaluation.ratings import Rung, default_ladder

OPPONENTS = [Rung("random", "random"),
             Rung("stockfish:nodes=10,name=sf-n10", "sf-n10", rating=1000.0),
             Rung("expert:eps=0.5,nodes=10,name=exp-half", "exp-half")]


def stand_in(tau: float) -> PlayerSpec:
    """A model stand-in whose error rate is its temperature: eps = tau (stronger when colder)."""
    return PlayerSpec("expert", {"eps": tau, "nodes": 10}, name=f"stand-in-tau{tau:g}")


def test_connect_opponents_chain_and_experts():
    specs = [as_opponent(r) for r in default_ladder()]
    pairs = {(a.label, b.label) for a, b in connect_opponents(specs, "sf-n100", neighbours=2)}
    assert ("random", "sf-n10") in pairs and ("random", "sf-n100") in pairs
    assert ("random", "sf-n300") not in pairs
    chain = {"random", "sf-n10", "sf-n100", "sf-n300", "sf-n1000"}
    # every expert plays every reference opponent by default, never another expert
    assert {b for a, b in pairs if a == "expert-N"} == chain
    assert not any(a.startswith("expert") and b.startswith("expert") for a, b in pairs)
    assert len(pairs) == (4 + 3) + 4 * 5
    few = connect_opponents(specs, "sf-n100", expert_refs=["sf-n10", "sf-n100"])
    assert {b.label for a, b in few if a.label == "expert-Q"} == {"sf-n10", "sf-n100"}
    with pytest.raises(ValueError, match="anchor"):
        connect_opponents(specs, "nobody")
    with pytest.raises(ValueError, match="expert_refs"):
        connect_opponents(specs, "sf-n100", expert_refs=["expert-N"])


def test_expert_spec_rebuilds_the_config():
    from minitranscend.players import ExpertConfig

    for cfg in (ExpertConfig("expert-x", nodes=50, eps=0.3, blind_spot="B"),
                ExpertConfig("expert-y", nodes=50, eps=0.05, habit="P", habit_rate=0.7)):
        spec = expert_spec(cfg)
        assert spec.label == cfg.name and PlayerSpec.parse(str(spec)) == spec
        with spec.build() as player:
            assert player.config == cfg


def test_plan_counts_and_names(tmp_path):
    models = {t: model_spec(tmp_path / "m.pt", t) for t in (0.1, 1.0)}
    assert models[0.1].label == "model-tau0.1" and models[0.1].params["tau"] == 0.1
    assert PlayerSpec.parse(str(models[0.1])) == models[0.1]  # round trip through the spec text
    plan = plan_ladder(models, [as_opponent(o) for o in OPPONENTS], "sf-n10", games_per_pair=4,
                       ladder_games=2)
    roles = [p.role for p in plan]
    assert roles.count("model") == 2 * 3 and roles.count("ladder") == 3  # random-sf, expert vs both
    assert all(p.n_games == (4 if p.role == "model" else 2) for p in plan)
    assert len({p.folder for p in plan}) == len(plan)
    only = plan_ladder(models, [as_opponent(o) for o in OPPONENTS], "sf-n10", 2,
                       model_opponents=["sf-n10"])
    assert [p.b.label for p in only if p.role == "model"] == ["sf-n10", "sf-n10"]
    with pytest.raises(ValueError, match="model_opponents"):
        plan_ladder(models, [as_opponent(o) for o in OPPONENTS], "sf-n10", 2, model_opponents=["x"])
    with pytest.raises(ValueError, match="not named|builds a player"):
        as_opponent(Rung("stockfish:nodes=10", "sf-n10"))


@pytest.mark.slow
def test_evaluate_temperatures_stand_in(tmp_path):
    res = evaluate_temperatures(stand_in, [0.0, 1.0], OPPONENTS, tmp_path, games_per_pair=4,
                                ladder_games=2, workers=2, max_plies=60, n_boot=50,
                                glicko_orders=3, progress=False)
    assert res.anchor == "sf-n10" and res.anchor_rating == 1000.0
    assert res.rating("sf-n10")["rating"] == pytest.approx(1000.0)
    cold, hot = res.rating("stand-in-tau0")["rating"], res.rating("stand-in-tau1")["rating"]
    assert cold > hot + 100  # a 10-node engine beats a random mover by a wide margin
    assert [r["tau"] for r in res.series["model"]] == [0.0, 1.0]
    assert res.series["model"][0]["lo"] <= res.series["model"][0]["rating"] <= res.series["model"][0]["hi"]
    assert set(res.references) == {"exp-half"}
    # Glicko-2 beside the ML fit, for the rated (model) players only
    row = res.rating("stand-in-tau0")
    assert row["glicko2_order_min"] <= row["glicko2"] <= row["glicko2_order_max"]
    assert "glicko2" not in res.rating("random")
    # files: JSON, CSVs, one folder per match with games and PGN
    doc = json.loads((tmp_path / "ladder.json").read_text())
    assert doc["n_games"] == 2 * 3 * 4 + 3 * 2 and doc["engine"].startswith("Stockfish")
    with open(tmp_path / "temperature.csv") as f:
        assert [float(r["tau"]) for r in csv.DictReader(f)] == [0.0, 1.0]
    with open(tmp_path / "matches.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(doc["plan"]) and sum(int(r["games"]) for r in rows) == doc["n_games"]
    for p in doc["plan"]:
        assert len(load_games(tmp_path / "matches" / p["folder"])) == p["n_games"]
        assert (tmp_path / "matches" / p["folder"] / "games.pgn").read_text().count("[Event ") == p["n_games"]

    # resume: an interrupted match (games removed) is completed, the others are not replayed
    victim = tmp_path / "matches" / doc["plan"][-1]["folder"] / "games.jsonl"
    lines = victim.read_text().splitlines(keepends=True)
    victim.write_text("".join(lines[:1]))
    others = {p["folder"]: (tmp_path / "matches" / p["folder"] / "games.jsonl").read_text()
              for p in doc["plan"][:-1]}
    again = evaluate_temperatures(stand_in, [0.0, 1.0], OPPONENTS, tmp_path, games_per_pair=4,
                                  ladder_games=2, workers=1, max_plies=60, n_boot=50,
                                  glicko_orders=3, progress=False)
    assert len(load_games(victim.parent)) == 4
    for folder, text in others.items():
        assert (tmp_path / "matches" / folder / "games.jsonl").read_text() == text
    # every game is a pure function of (specs, seed, index): the replayed games are the same games
    assert sorted(victim.read_text().splitlines(keepends=True)) == sorted(lines)
    assert again.rating("stand-in-tau0")["rating"] == pytest.approx(cold, abs=1e-6)


@pytest.mark.slow
def test_evaluate_temperatures_model_checkpoint(tmp_path):
    """A real (untrained) checkpoint goes through the spawn pool: torch in the workers."""
    from minitranscend.model import GPT, GPTConfig
    from minitranscend.tokenizers import get_tokenizer
    from minitranscend.train import save_checkpoint

    torch.manual_seed(0)
    tok = get_tokenizer("move")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=32, block_size=64))
    ckpt = save_checkpoint(tmp_path / "m.pt", model=model, tokenizer=tok)
    res = evaluate_temperatures(ckpt, [0.5, 1.0], OPPONENTS[:2], tmp_path / "ladder",
                                games_per_pair=2, ladder_games=2, workers=2, max_plies=30,
                                n_boot=20, glicko_orders=2, progress=False)
    assert {r["player"] for r in res.ratings} == {"model-tau0.5", "model-tau1", "random", "sf-n10"}
    tag = checkpoint_tag(ckpt)
    games = load_games(tmp_path / "ladder" / "matches" / f"model-tau0.5__vs__sf-n10__{tag}")
    assert len(games) == 2 and all(g["result"] in ("1-0", "0-1", "1/2-1/2") for g in games)
    assert "model-tau0.5" in {games[0]["white"], games[0]["black"]}
    # a model retrained to the same path gets new match folders, never the old model's games
    torch.manual_seed(1)
    other = GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=32, block_size=64))
    save_checkpoint(tmp_path / "m.pt", model=other, tokenizer=tok)
    assert checkpoint_tag(ckpt) != tag
    evaluate_temperatures(ckpt, [1.0], OPPONENTS[:2], tmp_path / "ladder", games_per_pair=2,
                          ladder_games=2, workers=1, max_plies=30, n_boot=20, glicko_orders=2,
                          progress=False)
    assert (tmp_path / "ladder" / "matches" / f"model-tau1__vs__sf-n10__{checkpoint_tag(ckpt)}").is_dir()
    assert len(load_games(tmp_path / "ladder" / "matches" / f"model-tau1__vs__sf-n10__{tag}")) == 2
    with pytest.raises(FileNotFoundError, match="not found"):
        evaluate_temperatures(tmp_path / "missing.pt", [1.0], OPPONENTS[:2], tmp_path / "x", 1)
