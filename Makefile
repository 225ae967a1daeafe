# Roost's two commands: `make run` starts the server, `make test` runs the whole suite.
# `make cluster` runs the production layout on one machine (docs/deploy.md).

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PY := $(VENV)/bin/python
# One stamp per set of packages: `make run` installs only what running Roost needs, `make test`
# (and `make lint`) adds the dev extra, `make bench` the bench extra. Each is redone when
# pyproject.toml changes; the dev and bench installs also when the runtime one is redone.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
PORT ?= 8000
HOST ?= 127.0.0.1

# SQS moved to the JSON protocol in botocore 1.31.81; the last model before that lets the tests
# drive the query (XML) protocol that older SDKs still speak.
BOTOCORE_QUERY_VERSION := 1.31.80
QUERY_MODEL := $(VENV)/query-models/sqs/2012-11-05/service-2.json

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run cluster test bench lint venv dev-venv query-model $(VENV)

run: $(VENV)
	$(PY) manage.py migrate --noinput
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) \
		ROOST_PUBLIC_URL="$${ROOST_PUBLIC_URL:-http://127.0.0.1:$(PORT)}" \
		$(PY) manage.py serve --port $(PORT)

# nginx on HOST:PORT in front of two web processes, two Celery workers and beat, on the
# PostgreSQL and Redis that DATABASE_URL, CELERY_BROKER_URL and REDIS_URL name. The command
# migrates once before the web processes start; it installs nginx (as root) when it is missing.
cluster: $(VENV)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) \
		ROOST_PUBLIC_URL="$${ROOST_PUBLIC_URL:-http://127.0.0.1:$(PORT)}" \
		$(PY) manage.py cluster --port $(PORT)

test: $(DEV_STAMP) $(QUERY_MODEL)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(BENCH_STAMP)
	$(PY) -m bench
	$(PY) -m bench.console

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# `make venv`: what `make run` installs; `make dev-venv`: what `make test` installs.
venv $(VENV): $(RUNTIME_STAMP)

dev-venv: $(DEV_STAMP) $(QUERY_MODEL)

query-model: $(QUERY_MODEL)

$(PY):
	@if python3.11 -c '' 2>/dev/null; then python=python3.11; \
	elif python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then python=python3; \
	else echo "Roost needs Python 3.11 or newer as python3.11 or python3." >&2; exit 1; fi; \
	echo "$$python -m venv $(VENV)"; \
	$$python -m venv $(VENV)

# Order-only on the interpreter: its timestamp is the system Python's, not the venv's.
$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BENCH_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

# Order-only on the install: a change to pyproject.toml must not fetch the model again.
$(QUERY_MODEL): | $(RUNTIME_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "Fetching the SQS query-protocol model from botocore $(BOTOCORE_QUERY_VERSION)" && \
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: \
		botocore==$(BOTOCORE_QUERY_VERSION) -d "$$tmp" && \
	$(PY) -c 'import glob, json, os, sys, zipfile; \
		wheel, target = glob.glob(sys.argv[1] + "/botocore-*.whl")[0], sys.argv[2]; \
		raw = zipfile.ZipFile(wheel).read("botocore/data/sqs/2012-11-05/service-2.json"); \
		protocol = json.loads(raw)["metadata"]["protocol"]; \
		protocol == "query" or sys.exit(f"{wheel}: SQS protocol is {protocol!r}, not query"); \
		os.makedirs(os.path.dirname(target), exist_ok=True); \
		open(target + ".tmp", "wb").write(raw); os.replace(target + ".tmp", target)' \
		"$$tmp" $@
