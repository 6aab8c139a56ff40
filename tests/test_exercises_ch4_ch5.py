"""The exercise checkers of chapters 4 (training) and 5 (sampling): right answers pass,
typical wrong answers fail with a message that says what is wrong."""
import numpy as np

from minitranscend import exercises as ex
from minitranscend.analysis import per_char_temperature
from minitranscend.model import GPT, GPTConfig


# -- chapter 4 ----------------------------------------------------------------------------------
def test_block_params_matches_the_real_block():
    from minitranscend.model import Block

    block = Block(GPTConfig(vocab_size=32, block_size=16, n_layer=16, n_head=8, n_embd=512))
    n = sum(p.numel() for p in block.parameters())
    ok, msg = ex.check_block_params(n)
    assert ok, msg
    ok, msg = ex.check_block_params(12 * 512 * 512)
    assert not ok and "LayerNorm" in msg
    ok, msg = ex.check_block_params(12 * 512 * 512 + 4 * 512)
    assert not ok and "bias" in msg
    assert not ex.check_block_params("many")[0]


def test_block_params_times_layers_is_most_of_the_model():
    cfg = GPTConfig.preset("chessformer-50m", vocab_size=32)
    model_blocks = 16 * (12 * 512 * 512 + 2 * 512)
    assert 0.99 < model_blocks / GPT(cfg).num_params() < 1.0


def _illegal_mass(logits, legal_ids):
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return 1.0 - p[legal_ids].sum()


def test_illegal_mass_checker():
    ok, msg = ex.check_illegal_mass(_illegal_mass)
    assert ok, msg

    def naive(logits, legal_ids):  # overflows on large logits
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(logits) / np.exp(logits).sum()
        return 1.0 - p[legal_ids].sum()

    ok, msg = ex.check_illegal_mass(naive)
    assert not ok and "max" in msg

    def legal_mass(logits, legal_ids):
        return 1.0 - _illegal_mass(logits, legal_ids)

    ok, msg = ex.check_illegal_mass(legal_mass)
    assert not ok and "LEGAL" in msg
    ok, msg = ex.check_illegal_mass(lambda logits, ids: None)
    assert not ok


def test_warmup_lr_checker():
    assert ex.check_warmup_lr(1e-3 * 11 / 21)[0]
    ok, msg = ex.check_warmup_lr(5e-4)
    assert not ok and "(i + 1)" in msg
    assert not ex.check_warmup_lr(1e-3)[0]
    assert not ex.check_warmup_lr(None)[0]


# -- chapter 5 ----------------------------------------------------------------------------------
def test_tempered_prob_checker():
    assert ex.check_tempered_prob(0.25 / 0.38)[0]
    ok, msg = ex.check_tempered_prob(0.5)
    assert not ok and "tau = 1" in msg
    ok, msg = ex.check_tempered_prob(0.25)
    assert not ok and "normalised" in msg
    assert not ex.check_tempered_prob(None)[0]


def test_temperature_fn_checker():
    def stable(probs, tau):
        z = np.log(probs) / tau
        q = np.exp(z - z.max())
        return q / q.sum()

    ok, msg = ex.check_temperature_fn(stable)
    assert ok, msg

    def naive(probs, tau):  # underflows at tau = 0.001
        with np.errstate(invalid="ignore", divide="ignore", under="ignore"):
            q = probs ** (1 / tau)
            return q / q.sum()

    ok, msg = ex.check_temperature_fn(naive)
    assert not ok and "log" in msg
    ok, msg = ex.check_temperature_fn(lambda p, tau: p)  # forgot the temperature
    assert not ok and "tau" in msg


def test_char_greedy_checker_agrees_with_analysis():
    words = {"e4": 0.4, "Nf3": 0.3, "Nc3": 0.3}
    answer = per_char_temperature(words, 0.0).get("e4", 0.0)
    assert ex.check_char_greedy(answer)[0]
    ok, msg = ex.check_char_greedy(1.0)
    assert not ok and "move-level" in msg
    assert not ex.check_char_greedy(0.4)[0]
