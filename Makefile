# The two commands of the README: `make demo` and `make test`. Both set up .venv first if needed.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
STAMP := $(VENV)/.deepfit-installed

BENCH_VENV := benchmarks/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: setup demo test test-fast lint docs benchmark benchmark-env clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt requirements-dev.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	# The CPU build of PyTorch, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PYTHON) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PYTHON) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PYTHON) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/deepfit demo

test: lint
	$(PYTHON) -m pytest

# The fast tier: every test not marked slow, under coverage; it fails if a module of src/deepfit runs
# none of its lines (tools/every_module_covered.py). Under 3 minutes on 2 cores.
test-fast: lint
	rm -f .coverage .coverage.*
	$(PYTHON) -m coverage run -m pytest -m "not slow" -q
	$(PYTHON) -m coverage combine -q
	$(PYTHON) tools/every_module_covered.py

# The tutorial, offline, into site/ (open site/index.html). --strict: a warning or a broken internal
# link fails the build; docs/hooks.py runs every script of docs/code/ for the pages' output and figures.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict  # not --quiet: it hides the warnings --strict counts

lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet src tests benchmarks tools docs

# The peers (skorch, Keras 3 on torch) live in their own environment, never in deepfit's.
benchmark-env: $(BENCH_STAMP)

$(BENCH_STAMP): requirements.txt benchmarks/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements.txt -r benchmarks/requirements-peers.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(BENCH_STAMP)

benchmark: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/compare_tables.py
	$(BENCH_VENV)/bin/python benchmarks/compare_images.py
	$(BENCH_VENV)/bin/python benchmarks/compare_sound.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) runs .pytest_cache
