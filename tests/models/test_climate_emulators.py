"""LPS, CNN-LSTM and Prithvi-style emulator: exact fits, shapes, residual start, masking, checkpoints."""
import numpy as np
import pytest
import torch

from sciml.models import build_model, load_model
from sciml.train.checkpoint import save_checkpoint

GRID = (24, 36)


def _lps_data(n=30):
    g = torch.Generator().manual_seed(0)
    co2 = torch.linspace(0, 8000, n)
    tg = 4.8e-4 * co2 - 0.01
    a, b = torch.randn(4, *GRID, generator=g), torch.randn(4, *GRID, generator=g)
    b[0] = 1.0  # tas slope 1 everywhere, so the global mean of tas is T_g + mean(a0)
    a[0] -= a[0].mean()
    y = a + b * tg[:, None, None, None]
    return co2, y, a, b


def test_lps_recovers_exact_linear_relations():
    co2, y, a, b = _lps_data()
    lat = torch.zeros(GRID[0])  # equal weights
    lps = build_model("lps", grid=GRID).fit(co2, y, lat)
    assert lps.global_coef[0].item() == pytest.approx(4.8e-4, rel=1e-4)
    torch.testing.assert_close(lps.slope, b, atol=1e-3, rtol=1e-3)
    x = torch.zeros(2, 10, 4, *GRID)
    x[:, :, 0] = 5000.0
    torch.testing.assert_close(lps(x), (a + b * (4.8e-4 * 5000 - 0.01))[None].expand(2, -1, -1, -1), atol=1e-3, rtol=1e-3)


def _prithvi(**kw):
    return build_model("prithvi", grid=GRID, patch=2, window=(3, 3), embed=16, heads=2, encoder_pairs=1,
                       decoder_pairs=1, **kw)


def test_prithvi_starts_at_the_lps_climatology_and_masks():
    co2, y, *_ = _lps_data()
    m = _prithvi()
    m.lps.fit(co2, y, torch.zeros(GRID[0]))
    x = torch.rand(3, 10, 4, *GRID)
    x[:, :, 0] *= 5000
    torch.testing.assert_close(m(x), m.lps(x))
    torch.nn.init.normal_(m.head.weight, std=0.1)
    torch.manual_seed(0)
    assert not torch.allclose(m(x), m(x, mask_ratio=0.5, mask_mode="local"))
    assert not torch.allclose(m(x, mask_ratio=0.5, mask_mode="local"), m(x, mask_ratio=0.5, mask_mode="global"))


def test_window_partition_round_trip_and_local_attention_is_local():
    m = _prithvi()
    z = torch.randn(2, m.th * m.tw, 16)
    torch.testing.assert_close(m._from_windows(m._to_windows(z)).reshape(2, -1, 16), z)
    blk = m.encoder[0].local.eval()
    w = m._to_windows(z)
    base = blk(w[:, 0])
    w2 = w.clone()
    w2[:, 1] += 1.0  # another window changes: local attention output of window 0 must not
    torch.testing.assert_close(blk(w2[:, 0]), base)


@pytest.mark.parametrize("name", ["cnn_lstm", "prithvi", "lps"])
def test_shapes_and_checkpoint_round_trip(tmp_path, name):
    kw = {"cnn_lstm": dict(grid=GRID, input_pool=2), "lps": dict(grid=GRID)}.get(name)
    m = _prithvi() if name == "prithvi" else build_model(name, **kw)
    with torch.no_grad():
        for b in m.buffers():
            if b.dtype.is_floating_point and b.ndim == 3:
                b.normal_()
    x = torch.rand(2, 10, 4, *GRID)
    out = m(x)
    assert out.shape == (2, 4, *GRID) and torch.isfinite(out).all()
    save_checkpoint(tmp_path / "c.pt", m)
    torch.testing.assert_close(load_model(str(tmp_path / "c.pt"))(x), m.eval()(x))
