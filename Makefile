# SeqPulse: `make run` (everything up, with a demo) and `make test` (the whole suite, real NATS + Postgres).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV_VERSION := 0.13.9
BOOT := .run/bootstrap
PY := .venv/bin/python

.PHONY: venv chromium run test check lint typecheck format bench screenshots clean

# uv from the machine if it has one, else a pinned copy bootstrapped from PyPI into .run/.
.venv/.synced: uv.lock pyproject.toml libs/common/pyproject.toml services/*/pyproject.toml examples/demo-app/pyproject.toml tools/cli/pyproject.toml
	@command -v uv >/dev/null || [ -x $(BOOT)/bin/uv ] || \
		(python3 -m venv $(BOOT) && $(BOOT)/bin/pip install --quiet "uv==$(UV_VERSION)")
	$$(command -v uv || echo $(BOOT)/bin/uv) sync --all-packages --frozen
	touch $@

venv: .venv/.synced

# Debian's Chromium drives the browser tests (Playwright, executable_path=/usr/bin/chromium); installed once.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

run: venv
	$(PY) -m scripts.devstack

test: venv chromium
	$(PY) -m pytest

# Refresh the dashboard screenshots linked from docs/dashboard.md.
screenshots: venv chromium
	SEQPULSE_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -m browser -q

lint: venv
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

typecheck: venv
	.venv/bin/mypy libs/common/src services/*/src examples/demo-app/src tools/cli/src

check: lint typecheck test

format: venv
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: venv
	$(PY) -m bench.run_all

clean:
	rm -rf .run .venv
