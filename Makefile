# 井站通 — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run prod test test-dates security test-js test-quick test-postgres browser-deps db-upgrade seed-demo bench bench-smoke bench-pages screenshots translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@scripts/ensure-cjk-font.sh
	$(BIN)/jingzhan db upgrade
	$(BIN)/jingzhan seed-demo --if-empty --history-days 14
	$(BIN)/python run.py

db-upgrade: $(VENV)/.installed-run
	$(BIN)/jingzhan db upgrade

seed-demo: $(VENV)/.installed-run
	$(BIN)/jingzhan seed-demo

browser-deps:
	@scripts/ensure-browser-deps.sh

# Each test copies a database and writes its files in its own folder: in memory when the machine has a tmpfs (a
# fifth faster than on the disk), removed after the run.
TESTTMP  := /dev/shm/jingzhan-pytest-$(shell id -u)
BASETEMP := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo --basetemp=$(TESTTMP))

# The model, route and fault tests on both cores (each test has its own database), what a date can change once more
# under each fixed date, then the browser tests in turn.
test: $(VENV)/.installed-test browser-deps test-js security
	$(BIN)/python -m pytest -m "not e2e" -n 2 $(BASETEMP)
	$(MAKE) --no-print-directory test-dates
	$(BIN)/python -m pytest -m e2e $(BASETEMP)
	@rm -rf $(TESTTMP)

# The `dated` tests (tests/conftest.py DATED_MODULES) with the clock at the edges of the calendar: the 1st of a month
# at 00:05 Beijing time, 31 December 23:55, 29 February, a shift boundary. On SQLite: a date is not a backend matter.
DATES := month-start year-end leap-day shift-boundary
test-dates: $(VENV)/.installed-test
	@failed=""; for at in $(DATES); do \
		echo "== clock at $$at"; \
		env -u JINGZHAN_TEST_POSTGRES_URL $(BIN)/python -m pytest -m "dated and not e2e" -n 2 -q --at=$$at $(BASETEMP) \
			-o addopts="-ra --strict-markers" || failed="$$failed $$at"; \
	done; \
	if [ -n "$$failed" ]; then echo "dated tests failed at:$$failed"; exit 1; fi

# The phone's outbox (static/js/outbox.js) under faults, in Node's own test runner (no npm packages).
test-js:
	@scripts/ensure-node.sh && status=0 || status=$$?; \
	if [ $$status -eq 0 ]; then node --test tests/js/; elif [ $$status -ne 2 ]; then exit $$status; fi

# Static analysis of our code (bandit: medium or worse fails) and known vulnerabilities in the installed packages
# (pip-audit: a finding fails; an unreachable vulnerability service only warns — see docs/security.md).
security: $(VENV)/.installed-test
	$(BIN)/bandit -q -r webapp routes models.py --severity-level medium --confidence-level medium
	$(BIN)/python scripts/audit_dependencies.py

# The quick loop: everything but the browser tests.
test-quick: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not e2e"

# Model and route tests against a throw-away PostgreSQL cluster on 127.0.0.1 as well.
test-postgres: $(VENV)/.installed-test
	scripts/with-test-postgres.sh $(BIN)/python -m pytest -m "not e2e"

# The production stack on this machine: PostgreSQL and gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:8000
# (Ctrl-C ends it; docs/deploy.md).
prod: $(VENV)/.installed-test
	@scripts/ensure-cjk-font.sh
	scripts/prod-stack.sh

# The benchmark suite (not tests; tens of minutes, bounded, stops by itself): docs/bench/*.json and the generated
# block of docs/performance.md, with a throw-away PostgreSQL for its PostgreSQL parts. Nothing else should run.
bench: $(VENV)/.installed-test browser-deps
	scripts/with-test-postgres.sh $(BIN)/python bench/run_all.py

# The same at tiny sizes (a minute or two), into a temporary folder: proves the scripts run.
bench-smoke: $(VENV)/.installed-test browser-deps
	JINGZHAN_BENCH_OUT=$$(mktemp -d) $(BIN)/python bench/run_all.py --smoke

# Page times and SQL queries at 10 k and 100 k patrols (databases cached in the temp folder); SIZES=10k,100k,1m for all.
bench-pages: $(VENV)/.installed-test
	cd bench && ../$(BIN)/python bench_pages.py --explain $(if $(SIZES),--sizes $(SIZES))

# The English catalogue (docs/i18n.md): messages.po rewritten from the code, then what is still missing or unwrapped.
translations: $(VENV)/.installed-run
	$(BIN)/python scripts/i18n.py update
	$(BIN)/python scripts/i18n.py check

# The user guide's screenshots (docs/guide/img) from a fresh demo database; about a minute, stops by itself.
screenshots: $(VENV)/.installed-test browser-deps
	@scripts/ensure-browser-deps.sh --screenshots
	$(BIN)/python scripts/screenshots.py --language zh
	$(BIN)/python scripts/screenshots.py --language en

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
