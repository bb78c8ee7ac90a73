# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs sciml with its extras.
# torch is pinned (the CPU build on this project's machines); override with `make test TORCH=torch==X`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV ?= .venv
EXTRAS ?= dev,bench,discovery,docs
BIN := $(VENV)/bin
STAMP := $(VENV)/.sciml-installed

.PHONY: demo test test-slow docs wheel-check install clean bench gpu-wheels

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sciml demo

# The layers of pyproject.toml's [tool.importlinter] first (seconds), then the tests.
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# The documentation site (mkdocs-material + mkdocstrings API reference) in site/; a warning fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --site-dir site

# The wheel installed (not editable) in a fresh venv works from a folder outside the repository.
wheel-check:
	PYTHON=$(PYTHON) TORCH="$(TORCH)" .ci/wheel-check

clean:
	rm -rf $(VENV) runs site .pytest_cache

# Wheels (CPython 3.12, x86-64) of the packages the GPU device image lacks; `.ci/gpu-check` installs them there.
GPU_WHEELS ?= netCDF4==1.7.2 cftime==1.6.4.post1 h5netcdf==1.8.2 pyamg==5.4.1 pysindy==2.1.0 derivative==0.6.3
gpu-wheels:
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl $(GPU_WHEELS)
