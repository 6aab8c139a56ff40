"""Rating math: ML Elo recovers known strengths; properties of the fit; the paper's Glicko-2."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minitranscend.evaluation.ratings import (ANCHOR, bootstrap_elo, default_ladder, elo_from_score,
                                              elo_expected_score, fit_elo, glicko2_ratings,
                                              games_from_matches, ladder_pairs)

TRUE = {"p0": 1000.0, "p1": 1250.0, "p2": 1500.0, "p3": 1600.0, "p4": 1900.0}


def simulate(true, n_per_pair, seed=0, draw=0.3):
    """Games with the exact Elo expected score: draws take `draw` of the smaller side's mass."""
    rng = np.random.default_rng(seed)
    names, games = list(true), []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p = elo_expected_score(true[a], true[b])
            d = draw * 2 * min(p, 1 - p)
            for k in range(n_per_pair):
                u = rng.random()
                s = 1.0 if u < p - d / 2 else (0.5 if u < p + d / 2 else 0.0)
                games.append((a, b, s) if k % 2 == 0 else (b, a, 1 - s))
    return games


def test_ml_fit_recovers_known_strengths():
    games = simulate(TRUE, 200)
    # 99% intervals: five 95% intervals all covering the truth happens only 77% of the time
    fit, ci = bootstrap_elo(games, "p2", 1500.0, n_boot=300, seed=0, level=0.99)
    for name, r in TRUE.items():
        lo, hi = ci[name]
        assert lo <= r <= hi, (name, r, lo, hi)
        assert hi - lo < 250  # and they are informative
        assert abs(fit.ratings[name] - r) < 3 * max(fit.se[name], 1) + 1
    assert fit.ratings["p2"] == 1500.0 and ci["p2"] == (1500.0, 1500.0)


def test_perfect_score_is_finite_and_uncertain():
    games = [("a", "b", 1.0)] * 20 + [("b", "c", 0.5)] * 20
    fit = fit_elo(games, "c", 1500.0)
    assert np.isfinite(fit.ratings["a"]) and fit.ratings["a"] > 1900
    assert fit.se["a"] > 3 * fit.se["b"]


@st.composite
def game_sets(draw):
    n = draw(st.integers(2, 4))
    names = [f"x{i}" for i in range(n)]
    games = []
    for i in range(n - 1):  # a connected chain, both results present, so the MLE exists
        games += [(names[i], names[i + 1], 1.0), (names[i], names[i + 1], 0.0)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from([0.0, 0.5, 1.0])), max_size=15))
    games += [(names[a], names[b], s) for a, b, s in extra if a != b]
    return names, games


@settings(max_examples=40, deadline=None)
@given(game_sets(), st.floats(-3000, 3000))
def test_fit_translation_invariant(data, shift):
    names, games = data
    f0 = fit_elo(games, names[0], 0.0, prior_sd=0)
    f1 = fit_elo(games, names[0], shift, prior_sd=0)
    for n in names:
        assert f1.ratings[n] == pytest.approx(f0.ratings[n] + shift, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(game_sets())
def test_swapping_results_mirrors_ratings(data):
    names, games = data
    anchor = names[0]
    f = fit_elo(games, anchor, 1500.0)
    g = fit_elo([(a, b, 1.0 - s) for a, b, s in games], anchor, 1500.0)
    for n in names:
        assert g.ratings[n] - 1500.0 == pytest.approx(1500.0 - f.ratings[n], abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(game_sets())
def test_fit_is_symmetric_in_colour(data):
    """(a, b, s) and (b, a, 1 - s) are the same game: the fit must not care about order."""
    names, games = data
    f = fit_elo(games, names[0], 1500.0)
    g = fit_elo([(b, a, 1.0 - s) for a, b, s in games], names[0], 1500.0)
    for n in names:
        assert g.ratings[n] == pytest.approx(f.ratings[n], abs=1e-6)


@given(st.floats(-4000, 4000), st.floats(-4000, 4000))
def test_expected_score_properties(ra, rb):
    e = float(elo_expected_score(ra, rb))
    assert 0.0 <= e <= 1.0
    assert e + float(elo_expected_score(rb, ra)) == pytest.approx(1.0)
    if abs(ra - rb) < 2000:
        assert elo_from_score(e) == pytest.approx(ra - rb, abs=1e-6)


def test_glicko2_paper_procedure_tracks_truth():
    opp = {k: v for k, v in TRUE.items() if k != "p1"}
    games = [g for g in simulate(TRUE, 120, seed=3) if "p1" in g[:2]]
    out = glicko2_ratings(games, pinned=opp, n_orders=5)
    assert abs(out["p1"]["rating"] - 1250.0) < 120
    assert out["p1"]["min"] <= out["p1"]["rating"] <= out["p1"]["max"]
    assert out["p0"]["rd"] == 0.0
    fixed = glicko2_ratings(games, pinned=opp, corrected=True)
    assert abs(fixed["p1"]["rating"] - 1250.0) < 120


def test_ladder_and_records():
    ladder = default_ladder()
    anchors = [r for r in ladder if r.rating is not None]
    # the course's one scale: the random player = 0 (ratings.ANCHOR, ladder.LADDER)
    assert [(r.name, r.rating) for r in anchors] == [ANCHOR]
    assert len(ladder_pairs(ladder, 2)) == 2 * len(ladder) - 3
    recs = [{"white": "a", "black": "b", "result": "0-1"}, {"white": "b", "black": "a", "result": "1/2-1/2"}]
    assert games_from_matches(recs) == [("a", "b", 0.0), ("b", "a", 0.5)]


def test_figures_have_bands_and_reference_lines():
    from minitranscend.evaluation.figures import gain_distribution, rating_vs_temperature, wdl_bars

    rows = [{"tau": t, "rating": 1500 - 100 * t, "lo": 1450 - 100 * t, "hi": 1550 - 100 * t}
            for t in (0.001, 0.1, 1.0)]
    fig = rating_vs_temperature({"model": rows}, {"best expert": {"rating": 1480, "lo": 1460, "hi": 1500}})
    # the model's band and line, and the expert as a legend entry (not a label on the plot)
    assert [t.name for t in fig.data] == ["model 95%", "model", "best expert"]
    assert fig.layout.xaxis.type == "log"
    assert len(fig.layout.shapes) == 2  # the expert's band and line
    g = gain_distribution(np.array([0.5, 0.3, 0.1, 0.1]))
    assert g.data[1].y[-1] == pytest.approx(1.0) and g.data[1].y[0] == pytest.approx(0.5)
    w = wdl_bars([{"label": "x", "wins": 2, "draws": 1, "losses": 1}])
    assert [t.y[0] for t in w.data] == [0.5, 0.25, 0.25]
