"""Data larger than memory: chunk-wise reductions and batch reads equal the in-memory results."""
from __future__ import annotations

import hashlib
import tracemalloc

import dask.array as dsa
import numpy as np
import pytest
import torch
import xarray as xr
from torch.utils.data import DataLoader

from sciml.data import FieldDataset, Normalizers, check_finite, fingerprint, open_chunked, save_dataset, validate
from sciml.errors import NonFiniteError
from tests.conftest import smoothing_dataset

STORED = 4  # samples per stored Zarr chunk


def _store(tmp_path, ds: xr.Dataset, suffix: str):
    """``ds`` written with ``STORED`` samples per Zarr chunk (NetCDF: contiguous)."""
    return save_dataset(ds.chunk({"sample": STORED}), tmp_path / f"d{suffix}")


def _reference_fingerprint(ds: xr.Dataset, names) -> str:
    """The fingerprint as defined on in-memory data: SHA-256 of header + the whole C-order array."""
    h = hashlib.sha256()
    for name in sorted(names):
        values = np.ascontiguousarray(ds[name].values)
        h.update(f"{name}|{ds[name].dims}|{values.dtype.str}|{values.shape}|".encode())
        h.update(memoryview(values).cast("B"))
    return h.hexdigest()


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_chunked_reductions_equal_in_memory(tmp_path, suffix):
    ds = smoothing_dataset(n=50, res=8)
    lazy = open_chunked(_store(tmp_path, ds, suffix), chunk_bytes=3 * 8 * 8 * 4)
    chunks = lazy["a"].chunks[0]
    assert len(chunks) > 5 and all(c % STORED == 0 for c in chunks[:-1]) if suffix == ".zarr" else set(chunks[:-1]) == {3}
    train = np.arange(0, 50, 3)
    for pointwise in (False, True):
        got = Normalizers.fit(lazy.isel(sample=train), ["a", "u"], pointwise=pointwise)
        want = Normalizers.fit(ds.isel(sample=train), ["a", "u"], pointwise=pointwise)
        for name in ("a", "u"):
            assert isinstance(got[name].mean, type(want[name].mean))
            np.testing.assert_allclose(np.asarray(got[name].mean), np.asarray(want[name].mean), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(np.asarray(got[name].std), np.asarray(want[name].std), rtol=1e-12)
    assert fingerprint(lazy, ["a", "u"]) == fingerprint(ds, ["a", "u"]) == _reference_fingerprint(ds, ["a", "u"])
    validate(lazy, required=["a", "u"], finite=True)


@pytest.mark.parametrize("shape", [(), (7,), (7, 3), (9, 3, 4)])
def test_chunked_finiteness_error_equals_in_memory(shape):
    values = np.ones(shape)
    if shape:
        values[(5,) + (1,) * (len(shape) - 1)] = np.nan
        values[(6,) + (0,) * (len(shape) - 1)] = -np.inf
    else:
        values = np.array(np.nan)
    dims = [f"d{i}" for i in range(len(shape))]
    messages = []
    for data in (values, dsa.from_array(values, chunks=2)):
        with pytest.raises(NonFiniteError) as err:
            check_finite(xr.DataArray(data, dims=dims), "v")
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert f"has {1 if not shape else 2} NaN/Inf" in messages[0]
    assert (f"first at {dict(zip(dims, [5] + [1] * (len(shape) - 1)))}" if shape else "first at {}") in messages[0]


def _peak_traced(fn) -> int:
    """Peak bytes allocated (numpy buffers included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reductions_hold_a_few_chunks_not_the_array(tmp_path):
    """Fingerprint, finiteness and normaliser fits on chunked data allocate a fraction of the data
    (measured with tracemalloc, which sees numpy buffers); on loaded data the same calls hold it all."""
    ds = smoothing_dataset(n=4096, res=32)[["a"]]  # 16 MiB
    path = save_dataset(ds.chunk({"sample": 64}), tmp_path / "d.zarr")
    nbytes = ds["a"].nbytes
    lazy = open_chunked(path, chunk_bytes=nbytes // 64)  # 64 chunks
    calls = {"fingerprint": lambda d: fingerprint(d, ["a"]),
             "finite": lambda d: validate(d, required=["a"], finite=True),
             "fit": lambda d: Normalizers.fit(d, ["a"]),
             "fit pointwise": lambda d: Normalizers.fit(d, ["a"], pointwise=True)}
    for name, call in calls.items():  # a third: dask's threads may hold a dozen 256 KiB chunks on a loaded machine
        assert _peak_traced(lambda: call(lazy)) < nbytes / 3, name
    assert _peak_traced(lambda: fingerprint(open_chunked(path).load(), ["a"])) > nbytes  # the control


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
@pytest.mark.parametrize("pointwise", [False, True])
def test_field_dataset_batches_equal_in_memory(tmp_path, suffix, pointwise):
    ds = smoothing_dataset(n=40, res=8)
    lazy = open_chunked(_store(tmp_path, ds, suffix))
    idx = np.arange(1, 40, 2)
    norms = Normalizers.fit(ds.isel(sample=idx), ["a", "u"], pointwise=pointwise)
    mem = FieldDataset(ds, ["a"], ["u"], indices=idx, normalizers=norms)
    streamed = FieldDataset(lazy, ["a"], ["u"], indices=idx, normalizers=norms)
    for a, b in zip(DataLoader(mem, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(1)),
                    DataLoader(streamed, batch_size=6, shuffle=True, generator=torch.Generator().manual_seed(1))):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    x, y = streamed[3]  # single items too, against the truth
    sample = ds.isel(sample=idx[3])
    torch.testing.assert_close(y[0], norms["u"].encode(torch.as_tensor(sample["u"].values)), rtol=0, atol=0)
    torch.testing.assert_close(x[0], norms["a"].encode(torch.as_tensor(sample["a"].values)), rtol=0, atol=0)


def test_block_cache_reads_each_block_once_sequentially(tmp_path):
    ds = smoothing_dataset(n=40, res=8)
    lazy = open_chunked(_store(tmp_path, ds, ".zarr"))
    block_bytes = STORED * 8 * 8 * 4
    budget = 4 * block_bytes  # room for the two blocks a batch may straddle, of each variable
    fd = FieldDataset(lazy, ["a"], ["u"], cache_bytes=budget)
    for _ in DataLoader(fd, batch_size=3):  # batches straddle blocks
        pass
    reader = fd.reader
    assert reader.blocks_read == 2 * 40 // STORED  # each block of a and u read once
    assert 0 < reader._cached_bytes <= budget
    big = FieldDataset(lazy, ["a"], ["u"])  # a cache that holds the data: the second shuffled epoch reads nothing
    loader = DataLoader(big, batch_size=5, shuffle=True)
    list(loader)
    read = big.reader.blocks_read
    list(loader)
    assert read == 2 * 40 // STORED and big.reader.blocks_read == read


def test_changed_chunked_data_is_read_as_changed(tmp_path):
    """Reading from the file's lazy source is a shortcut only for the file's unchanged data: a variable
    changed after opening is read through dask, with its change."""
    ds = smoothing_dataset(n=12, res=8)
    lazy = open_chunked(_store(tmp_path, ds, ".zarr"))
    changed = lazy.assign(u=2 * lazy["u"])
    x, y = FieldDataset(changed, ["a"], ["u"])[5]
    np.testing.assert_array_equal(y[0].numpy(), 2 * ds["u"][5].values)
    np.testing.assert_array_equal(x[0].numpy(), ds["a"][5].values)
