import pytest
import torch

from sciml.errors import CheckpointError
from sciml.models import build_model, count_parameters, load_model
from sciml.train import save_checkpoint
from sciml.train.checkpoint import load_checkpoint


@pytest.mark.parametrize("name,cfg", [("fno", {"modes": 5, "width": 8}), ("unet", {"width": 8, "depth": 3}),
                                      ("unet", {"width": 8, "padding_mode": "circular"})])
@pytest.mark.parametrize("shape", [(16, 16), (21, 30)])
def test_shapes_any_grid(name, cfg, shape):
    m = build_model(name, in_channels=2, out_channels=3, **cfg)
    assert m(torch.randn(2, 2, *shape)).shape == (2, 3, *shape)


def test_fno_param_count_counts_complex_twice():
    m = build_model("fno", modes=12, width=32, layers=4, padding=0)
    spectral = 4 * 2 * 32 * 32 * 12 * 12 * 2
    assert count_parameters(m) - sum(p.numel() for p in m.parameters() if not p.is_complex()) == spectral


def test_checkpoint_roundtrip(tmp_path):
    m = build_model("unet", width=8, depth=2)
    save_checkpoint(tmp_path / "m.pt", m)
    back = load_model(tmp_path / "m.pt")
    x = torch.randn(1, 1, 12, 12)
    torch.testing.assert_close(back(x), m.eval()(x))
    with pytest.raises(CheckpointError, match="holds a 'unet' model, not the 'fno'"):
        load_checkpoint(tmp_path / "m.pt", expected_model="fno")


def test_not_a_checkpoint(tmp_path):
    torch.save({"weights": 1}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="not a sciml checkpoint"):
        load_model(tmp_path / "x.pt")
    (tmp_path / "y.pt").write_text("garbage")
    with pytest.raises(CheckpointError, match="not a readable torch file"):
        load_model(tmp_path / "y.pt")
