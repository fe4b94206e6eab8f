# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLES := samples
HOST ?= 127.0.0.1
PORT ?= 8000
# The presets the docs' examples name (`?preset=thumb`, docs/url-api.md).
PRESETS := thumb:w=200&h=200&fit=cover

.PHONY: run test test-fast lint typecheck pytest docs bench node-peers fuzz gallery clean

$(BIN)/pixserve: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(SAMPLES)/.drawn: $(BIN)/pixserve pixserve/web/samples.py
	$(BIN)/pixserve samples $(SAMPLES)
	touch $@

run: $(BIN)/pixserve $(SAMPLES)/.drawn
	PIXSERVE_INDEX=1 PIXSERVE_LOG_FORMAT=text PIXSERVE_PRESETS='$(PRESETS)' \
		$(BIN)/pixserve serve --root $(SAMPLES) \
		--cache-dir .cache/images --host $(HOST) --port $(PORT)

# The documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8001; `make test`
# builds it with --strict (tests/test_docs.py).
docs: $(BIN)/pixserve
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

lint: $(BIN)/pixserve
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/pixserve
	$(BIN)/mypy

pytest: $(BIN)/pixserve
	$(BIN)/pytest

test: lint typecheck pytest

# The quick loop while editing: no browser, no nginx, nothing over about 3 s.
test-fast: $(BIN)/pixserve
	$(BIN)/pytest -q -m "not browser and not nginx and not slow"

# `make bench`: everything it needs is set up here, none of it in `make test` or CI.
BENCH_VENVS := benchmarks/.venvs
THUMBOR := $(BENCH_VENVS)/thumbor/bin/thumbor
THUMBOR_VERSION ?= 7.8.0

$(VENV)/.bench: $(BIN)/pixserve pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

$(THUMBOR):
	$(PYTHON) -m venv $(BENCH_VENVS)/thumbor
	$(BENCH_VENVS)/thumbor/bin/pip install --quiet --upgrade pip
	$(BENCH_VENVS)/thumbor/bin/pip install --quiet 'thumbor==$(THUMBOR_VERSION)'
	# its face and feature detectors (`smart`) need OpenCV, as in thumbor's own docs
	$(BENCH_VENVS)/thumbor/bin/pip install --quiet 'opencv-python-headless<5'
	touch $@

# The sharp-based peers (Next.js' image optimizer, IPX) from npm, at the versions in
# benchmarks/node/package-lock.json; the Next app is built once, its public/photos is
# the corpus' photos (a link, never a copy).
NODE_PEERS := benchmarks/node
BENCH_CORPUS ?= $(abspath ../shared/corpus)

$(NODE_PEERS)/node_modules/.installed: $(NODE_PEERS)/package.json $(NODE_PEERS)/package-lock.json
	bash benchmarks/tools.sh
	cd $(NODE_PEERS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(NODE_PEERS)/.next/BUILD_ID: $(NODE_PEERS)/node_modules/.installed $(NODE_PEERS)/next.config.mjs \
		$(NODE_PEERS)/app/layout.js $(NODE_PEERS)/app/page.js
	cd $(NODE_PEERS) && NEXT_TELEMETRY_DISABLED=1 ./node_modules/.bin/next build

node-peers: $(NODE_PEERS)/.next/BUILD_ID
	mkdir -p $(NODE_PEERS)/public
	ln -sfn $(BENCH_CORPUS)/photos $(NODE_PEERS)/public/photos

bench: $(VENV)/.bench $(THUMBOR) node-peers
	bash benchmarks/tools.sh
	$(BIN)/python -m benchmarks peers
	$(BIN)/python -m benchmarks sharp_race
	$(BIN)/python -m benchmarks page_race
	$(BIN)/python -m benchmarks request_path
	$(BIN)/python -m benchmarks dialects
	$(BIN)/python -m benchmarks thumbor_dialect
	$(BIN)/python -m benchmarks thumbor_options
	$(BIN)/python -m benchmarks max_bytes
	$(BIN)/python -m benchmarks encoders

gallery: $(BIN)/pixserve
	$(BIN)/python tools/gallery.py

FUZZ_SECONDS ?= 600
fuzz: $(BIN)/pixserve
	$(BIN)/pip install --quiet atheris
	$(BIN)/python fuzz/seeds.py fuzz/inputs
	cd fuzz && ../$(BIN)/python decode_fuzzer.py inputs -max_total_time=$(FUZZ_SECONDS) \
		-rss_limit_mb=1024 -timeout=10

clean:
	rm -rf $(VENV) $(BENCH_VENVS) $(NODE_PEERS)/node_modules $(NODE_PEERS)/.next $(NODE_PEERS)/public $(SAMPLES) .cache .pytest_cache .mypy_cache .ruff_cache *.egg-info
