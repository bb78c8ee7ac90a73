"""Climate emulation: ClimateBench I/O and metrics, the offline generator, emulator helpers."""
from sciml.climate.generator import generate_climatebench
from sciml.climate.io import load_climatebench, write_climatebench
from sciml.climate.metrics import (format_score_table, global_nrmse, score_table, spatial_nrmse, spatial_rmse,
                                   total_nrmse)


__all__ = ["load_climatebench", "write_climatebench", "spatial_nrmse", "global_nrmse", "total_nrmse",
           "spatial_rmse", "score_table", "format_score_table", "generate_climatebench"]
