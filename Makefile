# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs sciml with its extras.
# torch is pinned (the CPU build on this project's machines); override with `make test TORCH=torch==X`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV ?= .venv
EXTRAS ?= dev,bench,discovery
BIN := $(VENV)/bin
STAMP := $(VENV)/.sciml-installed

.PHONY: demo test test-slow install clean bench

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

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) runs .pytest_cache
