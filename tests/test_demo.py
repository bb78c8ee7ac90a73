from sciml.cli import main
from sciml.data import open_dataset


def test_demo_small(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--n", "30", "--res", "16", "--epochs", "2"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| mgno |" in report and "| fno |" in report and "| unet |" in report and "| training mean |" in report
    assert (tmp_path / "demo.png").stat().st_size > 10_000


def test_data_make_cli_with_params(tmp_path, capsys):
    out = tmp_path / "d.zarr"
    assert main(["data", "make", "darcy", "--out", str(out), "--n", "3", "--res", "12", "--param", "tau=5"]) == 0
    ds = open_dataset(out)
    assert ds.sizes["sample"] == 3 and '"tau": 5' in ds.attrs["generator_params"]
    assert main(["data", "make", "darcy", "--out", str(tmp_path / "e.nc"), "--param", "tua=5"]) == 2
    assert "unknown key 'tua' in dataset 'darcy'. Did you mean 'tau'" in capsys.readouterr().err
    assert not (tmp_path / "e.nc").exists()
