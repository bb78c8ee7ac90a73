"""Evaluation: predictions and metrics as xarray Datasets, markdown/PNG reports, rollouts."""
from sciml.evaluate.evaluate import field_metrics, mean_predictor, predict_fields, require_finite_predictions
from sciml.evaluate.report import metrics_table, plot_panels, write_report

__all__ = ["field_metrics", "mean_predictor", "predict_fields", "require_finite_predictions", "metrics_table", "plot_panels", "write_report"]
