"""The one temperature operator (chapter 1's, used by toy, policy, kg and the samplers)."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minitranscend.temperature import (TIE_TOLERANCE, apply_temperature, log_softmax_at_temperature,
                                       softmax_at_temperature)

# probabilities with zeros, tiny values down to 1e-300, and exact ties (drawn from a few values)
values = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1e-300, 1e-200, 1e-20, 0.25, 0.5]))
probs = st.lists(values, min_size=1, max_size=30).filter(lambda p: sum(p) > 0).map(
    lambda p: np.asarray(p) / sum(p))
taus = st.one_of(st.just(0.0), st.just(1e-3), st.floats(1e-3, 10.0))


def tied_top(p: np.ndarray) -> np.ndarray:
    """The argmax set, as the operator defines it (log-probabilities within TIE_TOLERANCE)."""
    with np.errstate(divide="ignore"):
        lp = np.log(p)
    return lp >= lp.max() - TIE_TOLERANCE


@given(probs, taus)
@settings(max_examples=200, deadline=None)
def test_a_distribution_at_every_temperature(p, tau):
    q = apply_temperature(p, tau)
    assert np.isfinite(q).all() and (q >= 0).all()
    assert q.sum() == pytest.approx(1.0, abs=1e-12)
    assert (q[p == 0] == 0).all()  # the impossible stays impossible


@given(probs)
@settings(max_examples=100, deadline=None)
def test_tau_one_is_the_identity(p):
    np.testing.assert_allclose(apply_temperature(p, 1.0), p, rtol=1e-9, atol=1e-15)


@given(probs, taus)
@settings(max_examples=200, deadline=None)
def test_order_is_preserved(p, tau):
    q = apply_temperature(p, tau)
    i, j = np.nonzero(p[:, None] >= p[None, :])
    assert (q[i] >= q[j] - 1e-15).all()


@given(probs)
@settings(max_examples=100, deadline=None)
def test_tau_zero_is_the_argmax_with_ties_split_evenly(p):
    top = tied_top(p)
    np.testing.assert_array_equal(apply_temperature(p, 0.0), top / top.sum())


@given(probs)
@settings(max_examples=100, deadline=None)
def test_small_tau_tends_to_the_tau_zero_limit(p):
    top = tied_top(p)
    rest = p[~top]
    # a runner-up at 1/1.01 of the top keeps 1.01^-10000 (1e-43) of its mass at tau = 1e-4
    assume(rest.size == 0 or rest.max() <= p.max() / 1.01)
    np.testing.assert_allclose(apply_temperature(p, 1e-4), apply_temperature(p, 0.0), atol=1e-12)


@given(probs, st.floats(0.01, 1.0), st.floats(0.01, 1.0))
@settings(max_examples=100, deadline=None)
def test_lower_temperature_never_lowers_the_top_mass(p, t1, t2):
    lo, hi = sorted((t1, t2))
    top = int(np.argmax(p))
    assert apply_temperature(p, lo)[top] >= apply_temperature(p, hi)[top] - 1e-12


def test_stable_at_tiny_tau_and_tiny_probabilities():
    p = np.array([0.30, 0.29, 0.2, 0.21])
    masses = [apply_temperature(p, t)[0] for t in (1.0, 0.5, 0.1, 0.01, 0.001)]
    assert masses == sorted(masses) and masses[-1] > 0.999999
    big = apply_temperature(np.array([1e-300, 1.0 - 1e-300]), 0.001)
    assert np.isfinite(big).all() and big[1] == 1.0
    tiny = apply_temperature(np.array([1e-300, 2e-300, 0.0]), 1e-3)  # only tiny numbers: still fine
    assert np.isfinite(tiny).all() and tiny[1] == 1.0 and tiny[2] == 0.0
    # counts: chapter 8's counts ** (1 / tau) overflows to inf / inf = nan at tau = 0.001
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.array([5.0, 3.0]) ** 1000 / (np.array([5.0, 3.0]) ** 1000).sum()
    assert np.isnan(naive).all()
    np.testing.assert_allclose(apply_temperature([5.0, 3.0], 1e-3), [1.0, 0.6 ** 1000], rtol=1e-9)


def test_float_rounding_does_not_break_a_tie():
    p = np.array([0.4, (0.6 + 0.6) / 3, 0.2 - 1e-17])  # 0.4 and 0.39999999999999997 are one tie
    assert p[0] != p[1]
    np.testing.assert_array_equal(apply_temperature(p, 0.0), [0.5, 0.5, 0.0])


def test_batches_are_tempered_row_by_row():
    rng = np.random.default_rng(0)
    batch = rng.dirichlet(np.ones(6), size=(3, 4))
    for tau in (0.0, 0.3, 1.0, 2.5):
        out = apply_temperature(batch, tau)
        assert out.shape == batch.shape
        for idx in np.ndindex(3, 4):
            np.testing.assert_array_equal(out[idx], apply_temperature(batch[idx], tau))


@given(probs, taus)
@settings(max_examples=100, deadline=None)
def test_the_logits_variants_agree(p, tau):
    with np.errstate(divide="ignore"):
        logits = np.log(p) + 3.7  # logits are log-probabilities up to a constant
    q = apply_temperature(p, tau)
    np.testing.assert_allclose(softmax_at_temperature(logits, tau), q, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax_at_temperature(logits, tau)), q, atol=1e-12)


@pytest.mark.parametrize("tau", [-1.0, -1e-9, float("nan"), float("inf"), -float("inf"), "warm", None])
def test_bad_temperatures_are_refused(tau):
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature([0.5, 0.5], tau)
    with pytest.raises(ValueError, match="temperature"):
        softmax_at_temperature([0.0, 1.0], tau)


@pytest.mark.parametrize("probs", [[], [0.0, 0.0], [0.5, -0.1], [0.5, float("nan")], [1.0, float("inf")]])
def test_bad_probabilities_are_refused(probs):
    with pytest.raises(ValueError, match="probs"):
        apply_temperature(probs, 1.0)


@pytest.mark.parametrize("logits", [[], [-np.inf, -np.inf], [0.0, np.nan], [0.0, np.inf]])
def test_bad_logits_are_refused(logits):
    with pytest.raises(ValueError, match="logits"):
        softmax_at_temperature(logits, 1.0)
