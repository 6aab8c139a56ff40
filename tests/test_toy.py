"""The toy world's theory: the identities the chapter states, checked numerically."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitranscend import toy


def random_policy(rng, states, actions):
    p = rng.dirichlet(np.ones(actions), size=states)
    return p


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), actions=st.integers(2, 8))
def test_low_temperature_is_majority_vote(seed, actions):
    rng = np.random.default_rng(seed)
    m = random_policy(rng, 20, actions)
    top2 = np.sort(m, axis=1)[:, -2:]
    if np.any(top2[:, 1] / top2[:, 0] < 1.02):
        # a near tie: tau = 1e-3 is not yet the limit there. A runner-up at 1/ratio of the top
        # keeps ratio^-1000 of its mass: 5e-5 at 1.01 (seed 180 fails by 1.4e-6), 3e-9 at 1.02
        return
    rewards = rng.random((20, actions))
    assert toy.reward_at_temperature(m, rewards, 1e-3) == pytest.approx(
        toy.majority_vote_reward(m, rewards), abs=1e-6)
    argmax_reward = rewards[np.arange(20), m.argmax(axis=1)].mean()
    assert toy.majority_vote_reward(m, rewards) == pytest.approx(argmax_reward)


@pytest.mark.parametrize("error", ["favourite", "uniform"])
@pytest.mark.parametrize("correlation", [0.0, 0.5, 1.0])
def test_temperature_one_earns_the_average_expert(error, correlation):
    world = toy.ToyWorld(error=error, correlation=correlation, n_states=200)
    experts = toy.expert_policies(world)
    rewards = toy.correct_rewards(world.n_states, world.n_actions)
    r1 = toy.reward_at_temperature(toy.mixture(experts), rewards, 1.0)
    assert r1 == pytest.approx(toy.expert_rewards(experts, rewards).mean(), abs=1e-12)


def test_experts_have_the_accuracy_they_were_given():
    world = toy.ToyWorld(accuracies=(0.7, 0.2), spread=0.0, n_states=50)
    experts = toy.expert_policies(world)
    np.testing.assert_allclose(experts.sum(axis=2), 1.0)
    np.testing.assert_allclose(experts[:, :, 0], [[0.7] * 50, [0.2] * 50])
    # favourite errors: all of the wrong mass on one action
    assert np.allclose(experts[:, :, 1:].max(axis=2), [[0.3], [0.8]])


def test_closed_form_single_state():
    # three experts, accuracy 0.4, each with its own favourite mistake among 3 wrong actions:
    # mixture (0.4, 0.2, 0.2, 0.2) and r(tau) = 1 / (1 + 3 * 0.5**(1/tau))
    for tau in (0.1, 0.5, 1.0, 2.0):
        assert toy.single_state_reward([0.4, 0.2, 0.2, 0.2], tau) == pytest.approx(
            1 / (1 + 3 * 0.5 ** (1 / tau)))
    assert toy.single_state_reward([0.4, 0.2, 0.2, 0.2], 0.0) == 1.0
    assert toy.single_state_reward([0.4, 0.6, 0.0, 0.0], 0.0) == 0.0
    # ties at tau = 0 are split evenly
    assert toy.single_state_reward([0.4, 0.4, 0.2], 0.0) == pytest.approx(0.5)


def test_diverse_experts_transcend_and_identical_ones_do_not():
    taus = np.array([0.0, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0])
    diverse = toy.temperature_curve(toy.ToyWorld(correlation=0.0), taus)
    same = toy.temperature_curve(toy.ToyWorld(correlation=1.0), taus)
    assert diverse.majority_vote > diverse.best_expert + 0.2
    assert diverse.model[0] > diverse.model[-1]
    # every expert makes the same mistake and no expert is right half of the time:
    # the majority vote is that mistake, and no temperature <= 1 beats the best expert
    assert same.majority_vote == 0.0
    assert np.all(same.model <= same.best_expert)
    assert diverse.model[-1] == pytest.approx(diverse.average_expert)


def test_deterministic_identical_experts_never_transcend():
    rng = np.random.default_rng(1)
    one = np.eye(4)[rng.integers(0, 4, size=30)]  # a deterministic expert, 30 states
    experts = np.stack([one, one, one])
    rewards = toy.correct_rewards(30, 4)
    m = toy.mixture(experts)
    values = [toy.reward_at_temperature(m, rewards, t) for t in (0.0, 0.1, 1.0, 3.0)]
    assert values == pytest.approx([toy.expected_reward(one, rewards)] * 4)
    assert toy.transcendence_gap(experts, rewards) == pytest.approx(0.0)


def test_more_diverse_experts_vote_better():
    votes = toy.sweep_experts([1, 3, 10, 30], accuracy=0.4, n_states=400)
    assert votes[0] == 0.0                      # one expert's favourite mistake beats 0.4
    assert votes[1] < votes[2] < votes[3] + 1e-9
    assert votes[3] > 0.99
    same = toy.sweep_experts([1, 3, 10, 30], accuracy=0.4, correlation=1.0, n_states=400)
    assert np.all(same == 0.0)


def test_weighted_mixture_and_bad_input():
    experts = toy.expert_policies(toy.ToyWorld(n_states=10))
    np.testing.assert_allclose(toy.mixture(experts, weights=np.ones(5)), toy.mixture(experts))
    np.testing.assert_allclose(toy.mixture(experts, weights=[1, 0, 0, 0, 0]), experts[0])
    with pytest.raises(ValueError, match="correlation"):
        toy.ToyWorld(correlation=1.5)
    with pytest.raises(ValueError, match="error"):
        toy.ToyWorld(error="gaussian")
    with pytest.raises(ValueError, match="temperature"):
        toy.reward_at_temperature(np.ones((1, 2)) / 2, np.ones((1, 2)), -1.0)


def test_chapter_1_checkers_accept_right_and_explain_wrong_answers():
    from minitranscend import exercises

    assert exercises.check_toy_reward(4 / 7)[0]
    ok, msg = exercises.check_toy_reward(0.4)
    assert not ok and "r(1)" in msg
    assert not exercises.check_toy_reward(None)[0]
    assert exercises.check_identical_threshold(0.5)[0]
    assert not exercises.check_identical_threshold(0.3)[0]

    def right(experts, rewards):
        best = experts.mean(axis=0).argmax(axis=1)
        return rewards[np.arange(len(best)), best].mean()

    assert exercises.check_majority_vote(right) == (True, "right on 20 random cases")
    ok, msg = exercises.check_majority_vote(lambda e, r: right(e[:1], r))
    assert not ok and "case" in msg
    ok, msg = exercises.check_majority_vote(lambda e, r: None)  # the untouched stub
    assert not ok and "returned None" in msg
    ok, msg = exercises.check_majority_vote(lambda e, r: 1 / 0)
    assert not ok and "raised" in msg
