"""The xarray data layer: schema checks, I/O, coordinate normalisation, normalisers, splits,
torch adapters and the dataset registry."""
from sciml.data.coords import normalize_coords
from sciml.data.io import fingerprint, open_chunked, open_dataset, save_dataset
from sciml.data.normalize import DecodedOutput, Normalizer, Normalizers
from sciml.data.registry import dataset_names, make_dataset, register_dataset
from sciml.data.schema import check_dims, check_finite, require_variables, validate
from sciml.data.splits import split_dataset, split_indices
from sciml.data.torch_datasets import FieldDataset, SampleReader, TrajectoryDataset

__all__ = [
    "normalize_coords", "fingerprint", "open_chunked", "open_dataset", "save_dataset", "DecodedOutput", "Normalizer", "Normalizers", "dataset_names",
    "make_dataset", "register_dataset", "check_dims", "check_finite", "require_variables", "validate",
    "split_dataset", "split_indices", "FieldDataset", "SampleReader", "TrajectoryDataset",
]
