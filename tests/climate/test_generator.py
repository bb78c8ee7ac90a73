"""Generator physics against truths: EBM equilibrium, ERF calibration, global-mean consistency, AR(1) members."""
import numpy as np
import pandas as pd
import pytest

from sciml.climate.forcing import (datasets_dir, effective_forcing, experiment_emissions, two_layer_ebm)
from sciml.climate.generator import ClimateGenerator


def test_ebm_equilibrium_and_energy_balance():
    T, Td = two_layer_ebm(np.full(3000, 3.9), lam=1.5, c=8.0, c_deep=100.0, gamma=0.6)
    assert T[-1] == pytest.approx(3.9 / 1.5, rel=1e-3) and Td[-1] == pytest.approx(T[-1], rel=1e-3)
    T2, _ = two_layer_ebm(np.full(50, 3.9), gamma=0.0)  # one layer: T = F/lam (1 - exp(-lam t / c)), Euler
    assert T2[-1] == pytest.approx(3.9 / 1.5 * (1 - (1 - 1.5 / 8) ** 50), rel=1e-9)


def test_forcing_calibrated_to_noresm_erf():
    erf = pd.read_csv(datasets_dir() / "climatebench_NorESM2_ERF.csv", index_col="year")
    em = experiment_emissions("historical")
    f = effective_forcing(em)
    for k, col in (("co2", "CO2"), ("aer", "AER")):
        assert np.corrcoef(f[k], erf.loc[em.years, col])[0, 1] > 0.9
    assert f["co2"][-1] == pytest.approx(erf.loc[2014, "CO2"], rel=0.1)


def test_experiment_definitions():
    aer, ghg = experiment_emissions("hist-aer"), experiment_emissions("hist-GHG")
    assert np.all(aer.co2_cum == 0) and np.ptp(ghg.so2) == 0
    ssp = experiment_emissions("ssp245")
    assert ssp.years[0] == 2015 and ssp.co2_cum[0] > experiment_emissions("historical").co2_cum[-1]


@pytest.fixture(scope="module")
def gen():
    return ClimateGenerator(seed=0, members=50)


def test_global_mean_tas_follows_the_ebm(gen):
    x, forced = gen.forced("ssp245")
    erf = effective_forcing(experiment_emissions("ssp245", with_history=True))
    T = two_layer_ebm(erf["total"])[0][-86:]
    # pattern slope has global mean 1, extra terms have zero global mean: global tas = T + mean intercept
    np.testing.assert_allclose(gen.gmean(forced["tas"]), T, atol=2e-3)
    assert 1.5 < T[-21:].mean() < 2.5  # NorESM2-LM ssp245 2080-2100: ~2.07 K
    assert float(x.SO2.min()) >= 0 and x.SO2.dims == ("time", "latitude", "longitude")


def test_member_means_shrink_noise_like_one_over_m(gen):
    n1 = np.stack([gen.noise("ssp126", 86, [m])["tas"] for m in range(12)])
    n12 = gen.noise("ssp126", 86, range(12))["tas"]
    np.testing.assert_allclose(n1.mean(0), n12, atol=1e-5)  # exact: the mean is linear
    a = gen.amplitudes("ssp126", 4000, [0])["tas"][0]
    assert np.corrcoef(a[1:, 0], a[:-1, 0])[0, 1] == pytest.approx(0.5, abs=0.05)
    assert a.std() == pytest.approx(1.0, abs=0.05)


def test_noise_amplitudes_are_realistic(gen):
    n = gen.noise("ssp370", 86, [0])
    gm_pr = gen.gmean(n["pr"]).std() * 86400
    assert 0.005 < gm_pr < 0.03  # annual global-mean pr std [mm/day], CMIP6 ~0.01-0.02
    assert 0.05 < gen.gmean(n["tas"]).std() < 0.2  # annual global-mean tas std [K]


def test_generated_files_say_they_are_synthetic_and_what_made_them(tmp_path):
    import xarray as xr

    from sciml.climate.generator import generate_climatebench

    paths = generate_climatebench(tmp_path, members=1, seed=4, experiments=("ssp126",))
    for p in paths:
        attrs = xr.open_dataset(p).attrs
        assert attrs["source"].startswith("SYNTHETIC") and attrs["synthetic"] == "true"
        assert "members=1, seed=4" in attrs["history"] and "ssp126" in attrs["history"]
        assert xr.open_dataset(p)[next(iter(xr.open_dataset(p).data_vars))].dtype == "float32"
