"""SoVITS building blocks checked against direct, slow formulas."""

from __future__ import annotations

import math

import torch

from gsv_core.models.attentions import MultiHeadAttention
from gsv_core.models.quantize import ResidualVectorQuantizer
from gsv_core.models.weight_norm import WNConv1d, WNConvTranspose1d


def _naive_relative_attention(attn: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    """Shaw et al. relative attention written out with loops over query and key."""
    b, c, t = x.shape
    h, d, w = attn.n_heads, attn.k_channels, attn.window_size
    q = attn.conv_q(x).view(b, h, d, t) / math.sqrt(d)
    k = attn.conv_k(x).view(b, h, d, t)
    v = attn.conv_v(x).view(b, h, d, t)
    out = torch.zeros(b, h, d, t)
    for i in range(t):
        scores = torch.zeros(b, h, t)
        for j in range(t):
            scores[:, :, j] = (q[..., i] * k[..., j]).sum(-1)
            if abs(j - i) <= w:
                scores[:, :, j] += (q[..., i] * attn.emb_rel_k[0, j - i + w]).sum(-1)
        p = torch.softmax(scores, dim=-1)
        for j in range(t):
            value = v[..., j] + (attn.emb_rel_v[0, j - i + w] if abs(j - i) <= w else 0)
            out[..., i] += p[:, :, j, None] * value
    return attn.conv_o(out.reshape(b, c, t))


def test_relative_attention_equals_the_direct_formula() -> None:
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 8, n_heads=2, window_size=2).eval()
    for length in (1, 3, 7):  # shorter and longer than the window
        x = torch.randn(2, 8, length)
        with torch.no_grad():
            torch.testing.assert_close(attn(x, x), _naive_relative_attention(attn, x))


def test_weight_norm_computes_g_times_unit_v() -> None:
    torch.manual_seed(0)
    conv = WNConv1d(3, 4, 5, padding=2)
    assert list(conv.state_dict()) == ["bias", "weight_g", "weight_v"]
    with torch.no_grad():
        conv.weight_g.mul_(3.0)
    v = conv.weight_v
    weight = conv.weight_g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1)
    x = torch.randn(2, 3, 11)
    expected = torch.nn.functional.conv1d(x, weight, conv.bias, padding=2)
    torch.testing.assert_close(conv(x), expected)


def test_inference_reuses_the_weight_until_a_parameter_changes() -> None:
    torch.manual_seed(0)
    conv = WNConv1d(3, 4, 5, padding=2)
    x = torch.randn(1, 3, 9)
    with torch.no_grad():
        first = conv(x)
        cached = conv.__dict__["_inference_weight"][1]
        assert torch.equal(conv(x), first) and conv.__dict__["_inference_weight"][1] is cached
        conv.weight_g.mul_(2.0)  # an optimiser step or load_state_dict bumps the version
        assert torch.allclose(conv(x) - conv.bias.view(1, -1, 1),
                              2 * (first - conv.bias.view(1, -1, 1)), atol=1e-5)
    state = {k: v.clone() for k, v in conv.state_dict().items()}
    state["weight_v"].neg_()
    conv.load_state_dict(state)
    with torch.inference_mode():
        flipped = conv(x)
    assert not torch.allclose(flipped, first)
    # with gradients (training) the weight is recomputed, so g and v get gradients
    conv(x).sum().backward()
    assert conv.weight_g.grad is not None and conv.weight_v.grad is not None
    assert conv.weight_g.grad.abs().sum() > 0


def test_transposed_weight_norm_upsamples_by_its_stride() -> None:
    up = WNConvTranspose1d(4, 2, 16, 10, padding=3)
    assert up.weight_g.shape == (4, 1, 1)  # norm over the input-channel dim, as upstream
    assert up(torch.randn(1, 4, 7)).shape == (1, 2, 70)


def test_quantizer_picks_the_nearest_codeword_and_decodes_it() -> None:
    torch.manual_seed(0)
    quantizer = ResidualVectorQuantizer(dimension=6, n_q=1, bins=16)
    codebook = quantizer.vq["layers"][0]._codebook.embed
    codebook.copy_(torch.randn(16, 6))
    x = torch.randn(2, 6, 5)
    codes = quantizer.encode(x)  # [n_q, B, T]
    distances = ((x.transpose(1, 2).unsqueeze(-2) - codebook) ** 2).sum(-1)  # [B, T, bins]
    assert torch.equal(codes[0], distances.argmin(-1))
    torch.testing.assert_close(quantizer.decode(codes), codebook[codes[0]].transpose(1, 2))
