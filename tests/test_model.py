"""The transformer: shapes, causality, the ignore index, tying, optimizer groups, presets."""
import math

import pytest
import torch

from minitranscend.model import GPT, PRESETS, GPTConfig

torch.set_num_threads(1)  # tiny models: one thread is faster, and far faster on a busy machine


def tiny(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**dict(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=32), **kw}))


def test_forward_shapes_and_initial_loss():
    m = tiny()
    x = torch.randint(0, 40, (3, 16))
    logits, loss = m(x, torch.randint(0, 40, (3, 16)))
    assert logits.shape == (3, 16, 40)
    # small init: the untrained model is close to uniform
    assert abs(loss.item() - math.log(40)) < 0.3
    logits, loss = m(x)
    assert logits.shape == (3, 16, 40) and loss is None


def test_causal_no_peeking_at_the_future():
    m = tiny()
    x = torch.randint(0, 40, (1, 16))
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % 40
    a, _ = m(x)
    b, _ = m(y)
    assert torch.allclose(a[0, :10], b[0, :10], atol=1e-6)
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_ignore_index_minus_one():
    m = tiny()
    x = torch.randint(0, 40, (2, 16))
    t = torch.randint(0, 40, (2, 16))
    masked = t.clone()
    masked[:, :8] = -1
    logits, loss = m(x, masked)
    ref = torch.nn.functional.cross_entropy(logits[:, 8:].reshape(-1, 40), t[:, 8:].reshape(-1))
    assert torch.allclose(loss, ref, atol=1e-6)


def test_too_long_sequence_is_a_clear_error():
    with pytest.raises(ValueError, match="block_size"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))


def test_weight_tying_and_optimizer_groups():
    m = tiny()
    assert m.transformer.wte.weight is m.lm_head.weight
    opt = m.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in m.parameters())  # every parameter exactly once


def test_board_encoder_variant():
    m = tiny(causal=False, out_vocab_size=100)
    assert m.transformer.wte.weight is not m.lm_head.weight
    x = torch.randint(0, 40, (4, 16))
    logits, loss = m(x, torch.tensor([1, 2, 3, -1]))
    assert logits.shape == (4, 100) and torch.isfinite(loss)
    # bidirectional: the last square influences the prediction
    y = x.clone()
    y[:, -1] = (y[:, -1] + 1) % 40
    assert not torch.allclose(m(y)[0], logits)
    with pytest.raises(ValueError, match="causal"):
        GPTConfig(vocab_size=40, block_size=8, out_vocab_size=100)


def test_presets_and_paper_model_size():
    assert {"tiny", "small", "chessformer-50m"} <= set(PRESETS)
    cfg = GPTConfig.preset("chessformer-50m", vocab_size=32)
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size) == (16, 8, 512, 1023)
    with torch.device("meta"):
        m = GPT(cfg)
    assert 49e6 < m.num_params() < 52e6  # "50M": 16 * 12 * 512^2 plus embeddings
    fpt = m.flops_per_token()
    assert fpt == 6 * m.num_params() + 12 * 16 * 512 * 1023
    assert GPTConfig.preset("tiny", vocab_size=32, n_layer=1).n_layer == 1
    with pytest.raises(ValueError, match="preset"):
        GPTConfig.preset("huge", vocab_size=32)
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=32, block_size=8, n_embd=30, n_head=4)


def test_generate_crops_context():
    m = tiny()
    out = m.generate(torch.zeros(1, 10, dtype=torch.long), 12, temperature=1.0, top_k=5,
                     generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 22) and int(out.max()) < 40
