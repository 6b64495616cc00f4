# The two commands: `make dev` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test lint services stop bench chaos audit screenshots clean

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
	@command -v rsyslogd >/dev/null && ls /usr/lib/*/rsyslog/omelasticsearch.so >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq rsyslog rsyslog-elasticsearch >/dev/null; }  # the peer benchmark
	scripts/with_services.sh $(PY) bench/run_all.py

## make chaos: the fault suite at size (1,000,000 lines, 25 kills, an hour cut off, parsers fuzzed at 20,000 examples
## each); the short version runs in make test
chaos: $(STAMP)
	SOC_CHAOS_LINES=$${SOC_CHAOS_LINES:-1000000} SOC_CHAOS_KILLS=$${SOC_CHAOS_KILLS:-25} \
	  SOC_CHAOS_RATE=$${SOC_CHAOS_RATE:-5000} SOC_CUTOFF_LINES=$${SOC_CUTOFF_LINES:-360000} SOC_FUZZ_VOLUME=1 \
	  scripts/test.sh tests/chaos tests/hostile/test_parser_volume.py -s

## make screenshots: every main page as every role, at 1280 px and 390 px, in .run/screenshots/ (index.html)
screenshots: $(STAMP)
	scripts/screenshots.sh

## make audit: known vulnerabilities in the pinned dependencies
audit: $(STAMP)
	$(VENV)/bin/pip install -q pip-audit && $(VENV)/bin/pip-audit -r requirements.txt

clean:
	rm -rf $(VENV) .run
