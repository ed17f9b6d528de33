# The two commands of the README: `make demo` and `make test`. Both set up .venv first if needed.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
STAMP := $(VENV)/.deepfit-installed

.PHONY: setup demo test benchmark clean

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

test: $(STAMP)
	$(PYTHON) -m pytest

benchmark: $(STAMP)
	$(PYTHON) benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs .pytest_cache
