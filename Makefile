# pushwoosh-exporter: the two set-up commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 9877

.PHONY: demo test lint typecheck unit prometheus-deps grafana-deps bench soak schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime install, re-done whenever the project metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@echo "pushwoosh-exporter demo: open http://127.0.0.1:$(PORT)/ and http://127.0.0.1:$(PORT)/metrics (Ctrl-C stops)"
	$(BIN)/pushwoosh-exporter --demo --web.listen-address=127.0.0.1:$(PORT)

# Debian's prometheus package brings /usr/bin/prometheus and /usr/bin/promtool.
prometheus-deps:
	@if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else \
	    echo "note: prometheus/promtool missing and not root: install Debian's 'prometheus' package"; \
	  fi; \
	fi

# npm's @grafana/schema and typescript, pinned in deploy/grafana/package-lock.json, type-check
# the dashboard against Grafana's own Dashboard type.
grafana-deps: deploy/grafana/node_modules/.installed

deploy/grafana/node_modules/.installed: deploy/grafana/package-lock.json
	cd deploy/grafana && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check exporter tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy exporter

# Four workers: most tests wait on real processes and sockets, so two cores serve four.
unit: $(VENV)/.installed-test prometheus-deps grafana-deps
	$(BIN)/python -m pytest -n 4

test: lint typecheck unit

schema: $(VENV)/.installed
	$(BIN)/python -m exporter.config > config.schema.json

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# 20 minutes against a faulty simulator: restarts, reloads, exact counts, memory, crashes
# (README "Reliability"). Not part of `make test`. Niced: the machines we run on are shared.
soak: $(VENV)/.installed
	nice -n 5 $(BIN)/python -m bench.soak --minutes 20

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info
