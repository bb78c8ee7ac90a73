"""Scenario emissions (real RCMIP SSP trajectories) -> ClimateBench inputs and effective radiative forcing.

Experiments follow ClimateBench: ``historical`` 1850-2014, ``ssp126/245/370/585`` 2015-2100
(continuing the historical cumulative CO2), ``hist-GHG`` (aerosols held at 1850) and
``hist-aer`` (CO2 and CH4 held at 1850). ERF from emissions uses simple textbook relations
(airborne fraction, logarithmic CO2 forcing, one-box CH4, linear aerosol ERF) whose scale
factors are least-squares calibrated to NorESM2-LM's diagnosed historical ERF
(``climatebench_NorESM2_ERF.csv``), so global forcing follows the real model.
"""
from __future__ import annotations

import os
from importlib import resources
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sciml.climate.io import HISTORICAL_YEARS, SCENARIO_YEARS

SSPS = ("ssp126", "ssp245", "ssp370", "ssp585")
EXPERIMENTS = ("historical", "hist-GHG", "hist-aer") + SSPS
_VARS = {"co2": "Emissions|CO2", "ch4": "Emissions|CH4", "so2": "Emissions|Sulfur", "bc": "Emissions|BC"}


def datasets_dir() -> Path:
    """The folder of the generator's real inputs (emissions, forcing, pattern-scaling fields): the package data
    ``sciml/climate/data`` (see its PROVENANCE.md), or the folder ``SCIML_CLIMATE_DATA`` names."""
    env = os.environ.get("SCIML_CLIMATE_DATA")
    # package data of an installed wheel or a checkout; both are plain folders (sciml is not zip-imported)
    return Path(env) if env else Path(str(resources.files("sciml.climate") / "data"))


@lru_cache(maxsize=4)
def rcmip_emissions(scenario: str) -> pd.DataFrame:
    """Annual World emissions 1850-2100 of ``scenario``: columns co2 [MtCO2/yr], ch4 [MtCH4/yr], so2 [MtSO2/yr], bc [MtBC/yr]."""
    df = pd.read_csv(datasets_dir() / "rcmip_ssp_world_emissions_1750_2100.csv")
    df = df[df["Scenario"] == scenario]
    if df.empty:
        raise KeyError(f"scenario {scenario!r} not in the RCMIP file")
    years = [c for c in df.columns if c.isdigit() and int(c) >= 1850]
    out = {k: df[df["Variable"] == v][years].to_numpy(float)[0] for k, v in _VARS.items()}
    # SSP futures are given every 5-10 years: interpolate linearly to annual values, as MAGICC/FaIR do
    return pd.DataFrame(out, index=np.array(years, dtype=int)).interpolate(method="index")


@dataclass
class Emissions:
    """Global emissions of one experiment: years (T,), co2_cum [GtCO2], ch4 [GtCH4/yr], so2, bc [Mt/yr]."""

    years: np.ndarray
    co2_cum: np.ndarray
    ch4: np.ndarray
    so2: np.ndarray
    bc: np.ndarray


def experiment_emissions(exp: str, with_history: bool = False) -> Emissions:
    """Emissions of a ClimateBench experiment; ``with_history`` prepends 1850-2014 to SSPs (for spin-up)."""
    hist = rcmip_emissions("ssp245")  # all SSPs share the RCMIP history up to 2014
    full = rcmip_emissions(exp if exp in SSPS else "ssp245").copy()
    if exp == "hist-GHG":
        full[["so2", "bc"]] = full.loc[1850, ["so2", "bc"]].to_numpy()
    elif exp == "hist-aer":
        full["co2"] = 0.0
        full["ch4"] = hist.loc[1850, "ch4"]
    co2_cum = np.cumsum(full["co2"].to_numpy()) / 1000.0
    lo = HISTORICAL_YEARS[0] if (with_history or exp not in SSPS) else SCENARIO_YEARS[0]
    hi = SCENARIO_YEARS[1] if exp in SSPS else HISTORICAL_YEARS[1]
    sel = (full.index >= lo) & (full.index <= hi)
    return Emissions(full.index[sel].to_numpy(), co2_cum[sel], full["ch4"].to_numpy()[sel] / 1000.0,
                     full["so2"].to_numpy()[sel], full["bc"].to_numpy()[sel])


def _erf_shapes(em: Emissions, e1850: Emissions) -> np.ndarray:
    """Un-scaled forcing shapes (T, 3): log-CO2, sqrt-CH4 and aerosol-emission terms."""
    conc_co2 = 284.7 + 0.45 * em.co2_cum / 7.82          # ppm: airborne fraction 0.45, 7.82 GtCO2/ppm
    f_co2 = 5.35 * np.log(conc_co2 / 284.7)
    # CH4: one-box, lifetime 9.3 yr, 2.78 Mt/ppb, in equilibrium with 1850 emissions at 808 ppb
    tau, conc = 9.3, np.empty_like(em.ch4)
    c = 808.0
    for i, e in enumerate(em.ch4 - e1850.ch4[0]):
        c = c + (e * 1000.0 / 2.78) - (c - 808.0) / tau
        conc[i] = c
    f_ch4 = 0.036 * (np.sqrt(conc) - np.sqrt(808.0))
    f_aer = em.so2 - e1850.so2[0]
    f_bc = em.bc - e1850.bc[0]
    return np.stack([f_co2, f_ch4, f_aer, f_bc], axis=1)


@lru_cache(maxsize=1)
def erf_calibration() -> np.ndarray:
    """Scale factors (4,) fitting the shapes to NorESM2-LM's historical ERF (CO2, GHG-CO2, AER columns)."""
    erf = pd.read_csv(datasets_dir() / "climatebench_NorESM2_ERF.csv", index_col="year")
    em = experiment_emissions("historical")
    shapes = _erf_shapes(em, em)
    y = erf.loc[em.years]
    s_co2 = np.linalg.lstsq(shapes[:, :1], y["CO2"].to_numpy(), rcond=None)[0][0]
    s_ch4 = np.linalg.lstsq(shapes[:, 1:2], (y["GHG"] - y["CO2"]).to_numpy(), rcond=None)[0][0]
    s_aer = np.linalg.lstsq(shapes[:, 2:4], y["AER"].to_numpy(), rcond=None)[0]
    return np.array([s_co2, s_ch4, *s_aer])


def effective_forcing(em: Emissions) -> dict[str, np.ndarray]:
    """ERF components [W m-2] for emissions ``em`` (starting 1850): co2, ch4 (all non-CO2 GHGs), aer, total."""
    e1850 = experiment_emissions("historical")
    f = _erf_shapes(em, e1850) * erf_calibration()
    out = {"co2": f[:, 0], "ch4": f[:, 1], "aer": f[:, 2] + f[:, 3], "bc": f[:, 3]}
    out["total"] = out["co2"] + out["ch4"] + out["aer"]
    return out


def two_layer_ebm(forcing: np.ndarray, lam: float = 1.5, c: float = 8.0, c_deep: float = 100.0,
                  gamma: float = 0.6, efficacy: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Annual forward-Euler two-layer energy balance model (Held et al. 2010; Geoffroy et al. 2013).

    C dT/dt = F - lam T - eff gamma (T - T_d);  C_d dT_d/dt = gamma (T - T_d).
    Defaults give ECS = F2x/lam ~ 2.6 K (NorESM2-LM: 2.5 K). Returns (T, T_d) [K], shape of ``forcing``.
    """
    t = td = 0.0
    T, TD = np.empty_like(forcing), np.empty_like(forcing)
    for i, f in enumerate(forcing):
        dt = (f - lam * t - efficacy * gamma * (t - td)) / c
        td = td + gamma * (t - td) / c_deep
        t = t + dt
        T[i], TD[i] = t, td
    return T, TD
