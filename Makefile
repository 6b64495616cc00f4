# The two commands: `make dev` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint services stop bench chaos clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $(STAMP)

## make dev: services, migrations, demo data, then web + worker + beat + a demo collector (Ctrl-C stops all)
dev: $(STAMP)
	scripts/dev.sh

## make test: services (throwaway data), lint, the whole pytest suite on the real services
test: $(STAMP)
	scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

services:
	scripts/services.sh start dev

stop:
	scripts/services.sh stop

bench: $(STAMP)
	scripts/with_services.sh $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .run
