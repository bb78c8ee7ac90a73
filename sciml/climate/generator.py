"""Offline ClimateBench-format generator: real emissions + EBM + real NorESM2-LM patterns + documented extras.

Forced response of each variable v at cell x and year t (``docs/climate.md`` gives the physics):

    v = a_v(x) + b_v(x) [T + n_v(T)]                           real NorESM2-LM pattern scaling
        + s_v(x) T_d                                            slow (deep-ocean) pattern, zero global mean
        + f_v(x) (F_CO2 - r T)                                  pr/pr90 fast CO2 adjustment (departure from the SSP-mean ratio)
        + k_v(x) (A(x, t) - <A>) + c_v(x) (B(x, t) - <B>)       local sulphate / black-carbon response

T, T_d: two-layer EBM forced by ERF calibrated to NorESM2-LM; n_v: Clausius-Clapeyron curvature
(pr90 7 %/K, pr 3 %/K); A, B: smoothed regional SO2/BC loads. Internal variability: K smooth
spatial modes per variable with AR(1) amplitudes, independent per member and experiment.
Member means are exact and cheap: the mean over members of the AR(1) amplitudes, then the modes.
"""
from __future__ import annotations

import zlib
from functools import cached_property
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter

from sciml._version import __version__
from sciml.climate.forcing import (EXPERIMENTS, SSPS, datasets_dir, effective_forcing, experiment_emissions,
                                   two_layer_ebm)
from sciml.climate.io import OUTPUT_VARS, write_climatebench
from sciml.data.params import Choice
from sciml.data.registry import register_dataset

SEC_PER_YEAR, MM_DAY = 3.156e7, 86400.0
# (lat, lon, sd_lat, sd_lon) in degrees: industrial SO2/BC source regions and biomass-burning BC regions
REGIONS = {"north_america": (40, 265, 9, 18), "europe": (50, 15, 7, 14), "east_asia": (32, 113, 7, 11),
           "south_asia": (23, 80, 6, 9)}
BIOMASS = {"central_africa": (0, 22, 8, 14), "amazon": (-8, 300, 8, 11)}
# annual per-cell noise std, AR(1) coefficient, number of modes
NOISE = {"tas": (1.4, 0.5, 24), "diurnal_temperature_range": (0.12, 0.2, 16), "pr": (0.35, 0.2, 24),
         "pr90": (0.9, 0.2, 24)}


def _smooth(field: np.ndarray, sigma_cells: float) -> np.ndarray:
    return gaussian_filter(field, sigma_cells, mode=("nearest", "wrap"))


def region_shares(years: np.ndarray) -> dict[str, np.ndarray]:
    """Fraction of industrial emissions per region: the West's share falls after ~1990, Asia's rises."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    west = 0.85 - 0.7 * sig((years - 1990) / 12.0)
    south = 0.3 + 0.3 * sig((years - 2030) / 15.0)
    return {"north_america": 0.45 * west, "europe": 0.55 * west, "east_asia": (1 - west) * (1 - south),
            "south_asia": (1 - west) * south}


class ClimateGenerator:
    """Builds ClimateBench inputs/outputs on the NorESM2-LM 96 x 144 grid.

    Parameters
    ----------
    seed : seeds the internal-variability modes and the members' AR(1) amplitudes.
    members : ensemble size per experiment.
    """

    def __init__(self, seed: int = 0, members: int = 50):
        self.seed, self.members = seed, members
        ps = xr.load_dataset(datasets_dir() / "noresm2_lm_pattern_scaling.nc")
        self.lat, self.lon = ps.latitude.values, ps.longitude.values
        self.patterns = ps
        self.weights = np.cos(np.deg2rad(self.lat))[:, None] * np.ones((1, self.lon.size))
        self.weights /= self.weights.sum()
        LAT, LON = np.meshgrid(self.lat, self.lon, indexing="ij")
        self._LAT, self._LON = LAT, LON
        self.area = self.weights * 4 * np.pi * 6.371e6 ** 2  # m2 per cell

    def gmean(self, f: np.ndarray) -> np.ndarray:
        return (f * self.weights).sum(axis=(-2, -1))

    def _blob(self, lat0, lon0, slat, slon) -> np.ndarray:
        dlon = (self._LON - lon0 + 180) % 360 - 180
        return np.exp(-0.5 * (((self._LAT - lat0) / slat) ** 2 + (dlon / slon) ** 2))

    @cached_property
    def wet(self) -> np.ndarray:
        """Proxy for climatological wetness: smoothed |pr slope|, weighted mean 1, floor 0.3."""
        w = _smooth(np.abs(self.patterns.pr_slope.values), 3.0)
        return np.maximum(w / self.gmean(w), 0.3)

    @cached_property
    def static_maps(self) -> dict[str, np.ndarray]:
        """Fixed spatial response maps (H, W) of the non-pattern-scaling terms, per unit driver."""
        g = self.gmean
        so_band = np.exp(-0.5 * ((self._LAT + 58) / 10) ** 2) + 0.5 * np.exp(-0.5 * ((self._LAT - 65) / 8) ** 2)
        enso = self._blob(0, 240, 7, 35)
        m = {"tas_slow": so_band - g(so_band), "pr_slow": 0.5 * (enso - g(enso))}
        m["pr90_slow"] = 2.0 * m["pr_slow"]
        return m

    def aerosol_maps(self, years: np.ndarray, so2: np.ndarray, bc: np.ndarray) -> tuple[np.ndarray, ...]:
        """Emission maps SO2, BC [kg m-2 s-1] (T, H, W) and smoothed loads A, B (per 50 Mt / 5 Mt per yr)."""
        shares = region_shares(years)
        blobs = {r: self._blob(*REGIONS[r]) for r in REGIONS}
        unit = {r: b / (b * self.area).sum() for r, b in blobs.items()}  # m-2, integrates to 1
        smooth = {r: _smooth(b, 4.0) / _smooth(b, 4.0).max() for r, b in blobs.items()}
        bio = sum(self._blob(*v) for v in BIOMASS.values())
        bio_unit, bio_s = bio / (bio * self.area).sum(), _smooth(bio, 4.0) / _smooth(bio, 4.0).max()
        to_flux = 1e9 / SEC_PER_YEAR
        so2_map = sum(shares[r][:, None, None] * so2[:, None, None] * unit[r] for r in REGIONS) * to_flux
        bc_ind = 0.6 * bc
        bc_map = (sum(shares[r][:, None, None] * bc_ind[:, None, None] * unit[r] for r in REGIONS)
                  + 0.4 * bc[:, None, None] * bio_unit) * to_flux
        A = sum(shares[r][:, None, None] * so2[:, None, None] * smooth[r] for r in REGIONS) / 50.0
        B = (sum(shares[r][:, None, None] * bc_ind[:, None, None] * smooth[r] for r in REGIONS)
             + 0.4 * bc[:, None, None] * bio_s) / 5.0
        return so2_map, bc_map, A, B

    @cached_property
    def _co2_ratio(self) -> float:
        """r in the fast-adjustment term: the F_CO2 / T ratio least-squares over the SSPs."""
        f, t = [], []
        for e in SSPS:
            erf = effective_forcing(experiment_emissions(e, with_history=True))
            f.append(erf["co2"][-86:]), t.append(two_layer_ebm(erf["total"])[0][-86:])
        f, t = np.concatenate(f), np.concatenate(t)
        return float((f * t).sum() / (t * t).sum())

    def forced(self, exp: str) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
        """Inputs Dataset and forced (noise-free) outputs {var: (T, H, W)} in ClimateBench units."""
        em_full = experiment_emissions(exp, with_history=True)
        erf = effective_forcing(em_full)
        T, Td = two_layer_ebm(erf["total"])
        so2_map, bc_map, A, B = self.aerosol_maps(em_full.years, em_full.so2, em_full.bc)
        keep = slice(-86, None) if exp in SSPS else slice(None)
        years = em_full.years[keep]
        T, Td, fco2, A, B = T[keep], Td[keep], erf["co2"][keep], A[keep], B[keep]
        A, B = A - self.gmean(A)[:, None, None], B - self.gmean(B)[:, None, None]
        p, s, wet = self.patterns, self.static_maps, self.wet
        e = lambda a: a[:, None, None]  # noqa: E731  (T,) -> (T, 1, 1)
        fast = e(fco2 - self._co2_ratio * T)
        out = {
            "tas": p.tas_intercept.values + p.tas_slope.values * e(T) + s["tas_slow"] * e(Td) - 0.8 * A + 0.3 * B,
            "diurnal_temperature_range": (p.diurnal_temperature_range_intercept.values
                                          + p.diurnal_temperature_range_slope.values * e(T) - 0.08 * A - 0.04 * B),
            # pr, pr90 in mm/day here: CC curvature, slow pattern, fast CO2 adjustment, aerosol drying
            "pr": (p.pr_intercept.values + p.pr_slope.values * e(T + _cc(T, 0.03)) + s["pr_slow"] * e(Td)
                   - 0.035 * wet * fast - 0.12 * wet * A - 0.1 * wet * B),
            "pr90": (p.pr90_intercept.values + p.pr90_slope.values * e(T + _cc(T, 0.07)) + s["pr90_slow"] * e(Td)
                     - 0.08 * wet * fast - 0.3 * wet * A - 0.25 * wet * B),
        }
        out["pr"], out["pr90"] = out["pr"] / MM_DAY, out["pr90"] / MM_DAY
        em = experiment_emissions(exp)
        coords = {"time": years, "latitude": self.lat, "longitude": self.lon}
        inputs = xr.Dataset({"CO2": ("time", em.co2_cum), "CH4": ("time", em.ch4),
                             "SO2": (("time", "latitude", "longitude"), so2_map[keep].astype("float32")),
                             "BC": (("time", "latitude", "longitude"), bc_map[keep].astype("float32"))}, coords=coords)
        return inputs, {k: v.astype("float32") for k, v in out.items()}

    @cached_property
    def modes(self) -> dict[str, np.ndarray]:
        """Per variable (K, H, W) smooth unit-RMS modes times the local noise amplitude."""
        rng = np.random.default_rng([self.seed, 7])
        amp = {"tas": 0.25 + 0.45 * (np.abs(self._LAT) / 90) ** 1.5, "diurnal_temperature_range": np.ones_like(self.wet),
               "pr": self.wet, "pr90": self.wet}
        out = {}
        for v in ("tas", "diurnal_temperature_range", "pr"):
            scale, _, k = NOISE[v]
            white = rng.standard_normal((k, *self.wet.shape))
            m = np.stack([_smooth(w, 5.0) for w in white])
            m /= np.sqrt(self.gmean(m ** 2))[:, None, None]
            m = m * amp[v]
            if v == "pr":  # global precipitation is energetically constrained: keep 20 % of the modes' global
                m -= 0.8 * self.gmean(m)[:, None, None]  # mean, ~0.014 mm/day annual std (CMIP6 ~0.01-0.02)
            out[v] = m * scale / np.sqrt(k)
        out["pr90"] = out["pr"] * NOISE["pr90"][0] / NOISE["pr"][0]
        return out

    def amplitudes(self, exp: str, n_years: int, members) -> dict[str, np.ndarray]:
        """AR(1) amplitudes {var: (len(members), T, K)}, stationary, unit variance; pr90 correlated 0.8 with pr."""
        out = {v: [] for v in OUTPUT_VARS}
        for m in members:
            rng = np.random.default_rng([self.seed, zlib.crc32(exp.encode()), int(m)])
            for v in OUTPUT_VARS:
                _, phi, k = NOISE[v]
                eps = rng.standard_normal((n_years, k))
                a = np.empty_like(eps)
                a[0] = eps[0]
                for t in range(1, n_years):
                    a[t] = phi * a[t - 1] + np.sqrt(1 - phi ** 2) * eps[t]
                out[v].append(a)
        out = {v: np.stack(a) for v, a in out.items()}
        out["pr90"] = 0.8 * out["pr"] + 0.6 * out["pr90"]
        return out

    def noise(self, exp: str, n_years: int, members) -> dict[str, np.ndarray]:
        """Member-mean internal variability {var: (T, H, W)} [output units] over ``members`` (indices)."""
        amps = self.amplitudes(exp, n_years, members)
        out = {}
        for v, a in amps.items():
            n = np.einsum("tk,khw->thw", a.mean(0), self.modes[v]).astype("float32")
            out[v] = n / MM_DAY if v in ("pr", "pr90") else n
        return out

    def experiment(self, exp: str, members=None) -> tuple[xr.Dataset, xr.Dataset]:
        """(inputs, outputs) of one experiment; outputs (member, time, latitude, longitude), each member explicit."""
        members = range(self.members) if members is None else members
        x, forced = self.forced(exp)
        dims = ("member", "time", "latitude", "longitude")
        y = xr.Dataset(coords={"member": np.arange(len(list(members))), **{c: x[c] for c in x.coords}})
        for v in OUTPUT_VARS:
            y[v] = (dims, np.stack([forced[v] + self.noise(exp, x.sizes["time"], [m])[v] for m in members]))
        return x, y

    def member_mean(self, exp: str, members) -> tuple[xr.Dataset, xr.Dataset]:
        """(inputs, member-mean outputs (time, latitude, longitude)) without materialising each member."""
        x, forced = self.forced(exp)
        noise = self.noise(exp, x.sizes["time"], list(members))
        y = xr.Dataset({v: (("time", "latitude", "longitude"), forced[v] + noise[v]) for v in OUTPUT_VARS},
                       coords=x.coords)
        return x, y


def _cc(T: np.ndarray, alpha: float) -> np.ndarray:
    """Clausius-Clapeyron curvature beyond the linear term: (exp(alpha T) - 1 - alpha T) / alpha [K]."""
    return (np.exp(alpha * T) - 1 - alpha * T) / alpha


def generate_climatebench(out_dir: str | Path, members: int = 3, seed: int = 0,
                          experiments=EXPERIMENTS) -> list[Path]:
    """Write ``inputs_{exp}.nc``/``outputs_{exp}.nc`` for each experiment (ClimateBench schema)."""
    gen, paths = ClimateGenerator(seed=seed, members=members), []
    for exp in experiments:
        x, y = gen.experiment(exp)
        paths += list(write_climatebench(out_dir, exp, x, y, attrs=synthetic_attrs(exp, members, seed)))
    return paths


def synthetic_attrs(exp: str, members: int, seed: int) -> dict[str, str]:
    """Global attributes that say a file is synthetic and what made it (CF ``source``/``history``; no time
    stamp, so the same seed writes the same file)."""
    return {
        "title": f"Synthetic ClimateBench-format data: {exp}",
        "source": ("SYNTHETIC, not model output: sciml's offline ClimateBench generator (a two-layer energy-balance "
                   "model forced by RCMIP emissions, NorESM2-LM pattern scaling and AR(1) internal variability; "
                   "see sciml/climate/data/PROVENANCE.md)"),
        "history": f"sciml {__version__}: generate_climatebench(experiment={exp!r}, members={members}, seed={seed})",
        "synthetic": "true",
    }


@register_dataset("climatebench_synthetic", res=Choice(96), experiment=Choice(*EXPERIMENTS))
def climatebench_synthetic(n: int = 3, res: int = 96, seed: int = 0, experiment: str = "ssp245") -> xr.Dataset:
    """One experiment's inputs and ``n`` members of outputs, merged (res must be 96: the 96 x 144 NorESM2-LM grid)."""
    x, y = ClimateGenerator(seed=seed, members=n).experiment(experiment)
    return xr.merge([x, y])
