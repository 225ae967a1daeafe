# Roost's two commands: `make run` starts the server, `make test` runs the whole suite.

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1

# SQS moved to the JSON protocol in botocore 1.31.81; the last model before that lets the tests
# drive the query (XML) protocol that older SDKs still speak.
BOTOCORE_QUERY_VERSION := 1.31.80
QUERY_MODEL := $(VENV)/query-models/sqs/2012-11-05/service-2.json

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test bench lint venv query-model $(VENV)

run: $(VENV)
	$(PY) manage.py migrate --noinput
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) \
		ROOST_PUBLIC_URL="$${ROOST_PUBLIC_URL:-http://127.0.0.1:$(PORT)}" \
		$(PY) manage.py serve --port $(PORT)

test: $(VENV)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(VENV)
	$(PY) -m bench
	$(PY) -m bench.console

lint: $(VENV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

venv $(VENV): $(STAMP) $(QUERY_MODEL)

query-model: $(QUERY_MODEL)

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
		if python3.11 -c '' 2>/dev/null; then python=python3.11; \
		elif python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then python=python3; \
		else echo "Roost needs Python 3.11 or newer as python3.11 or python3." >&2; exit 1; fi; \
		echo "$$python -m venv $(VENV)"; \
		$$python -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Order-only on the venv: a change to pyproject.toml must not fetch the model again.
$(QUERY_MODEL): | $(STAMP)
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
