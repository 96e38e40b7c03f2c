# `make run` and `make test` on a fresh machine: both start with `setup`, which is quick
# when nothing changed. Needed: python3 (3.11+), make, and Node.js 18+ with npm for the pages'
# front-end packages; everything else comes from PyPI and npm. `make run` installs only the runtime lock
# (requirements.txt), as a server would; `make test` adds the test tools (requirements-dev.txt).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Copies of the lock files last installed: pip runs again only when a lock's content changes.
STAMP := $(VENV)/requirements.installed
DEV_STAMP := $(VENV)/requirements-dev.installed
# The address `make run` listens on. 127.0.0.1 keeps a development server off the network; see the README
# ("Reaching the server from other machines") before changing it: cameras need HTTPS off localhost.
BIND ?= 127.0.0.1

# A copy of the package-lock.json last installed: npm ci runs again only when the lock changes.
NPM_STAMP := node_modules/.smartsession-lock.json
# `make run` serves pages that need the front-end packages; `make test` can do without them (the
# browser tests then skip and say why), so a machine without Node.js can still run the suite.
REQUIRE_NODE ?= 0

.PHONY: setup dev-packages frontend run test screenshots

setup:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "SmartSession needs Python 3.11 or newer, but '$(PYTHON)' is: $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Install Python 3.11+, or point make at one: make PYTHON=python3.12 ..." >&2; \
		exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# --no-deps: the lock lists every package; see the top of requirements.txt for what it leaves out and why.
	@cmp -s requirements.txt $(STAMP) || { \
		$(BIN)/python -m pip install --no-deps -r requirements.txt && cp requirements.txt $(STAMP); }
	@$(BIN)/python -m smartsession.envcheck requirements.txt
	@$(MAKE) --no-print-directory frontend REQUIRE_NODE=$(REQUIRE_NODE)
	@$(BIN)/python manage.py check_face_model
	@$(BIN)/python manage.py migrate --no-input --verbosity 0

# The test tools, on top of the runtime lock.
dev-packages: setup
	@cmp -s requirements-dev.txt $(DEV_STAMP) || { \
		$(BIN)/python -m pip install --no-deps -r requirements-dev.txt && cp requirements-dev.txt $(DEV_STAMP); }
	@$(BIN)/python -m smartsession.envcheck requirements.txt requirements-dev.txt

frontend:
	@if node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' 2>/dev/null \
		&& npm --version >/dev/null 2>&1; then \
		cmp -s package-lock.json $(NPM_STAMP) || { npm ci --no-audit --no-fund && cp package-lock.json $(NPM_STAMP); }; \
	elif [ "$(REQUIRE_NODE)" = 1 ]; then \
		echo "SmartSession's pages need Node.js 18 or newer with npm, for their chart and icon packages," >&2; \
		echo "but 'node' here is: $$(node --version 2>&1 || echo missing)." >&2; \
		echo "Install Node.js 18+ (it comes with npm), then run make again." >&2; \
		exit 1; \
	else \
		echo "Note: no Node.js 18+ with npm here, so the front-end packages are not installed:" >&2; \
		echo "pages lose their charts and icons, and the browser tests will skip." >&2; \
	fi

# Demo data in `run` and not in `setup`: `make test` also runs setup, and CI's DATABASE_URL needs no demo
# accounts (each password costs ~0.3 s to hash). seed_demo is idempotent, so every `make run` may call it.
run: REQUIRE_NODE := 1
run: setup
	@$(BIN)/python manage.py seed_demo
	@# Sessions a crashed server left active are ended from what they recorded.
	@$(BIN)/python manage.py close_stale_sessions
	@# Frames up to vision's own 2 MB limit (2.7 MB as base64) reach our decoder and its clear error,
	@# instead of Daphne's default 1 MB cut-off closing the socket.
	@# exec: make's child is Daphne itself, not a shell, so a SIGTERM make passes on (make demo's) reaches it.
	exec $(BIN)/daphne -b $(BIND) -p $${PORT:-8000} --websocket-max-message-size 3000000 smartsession.asgi:application

# A live class with no webcams: `make run`'s server, and simulated students on the demo class who play the
# committed demo clip (manage.py simulate_class) until Ctrl-C, which stops both. DEMO_SECONDS=N stops them after
# N seconds; DEMO_STUDENTS sets how many (six behaviours, taken in turn).
.PHONY: demo
DEMO_STUDENTS ?= 12
DEMO_SECONDS ?= 0
demo: REQUIRE_NODE := 1
demo: setup
	@$(MAKE) --no-print-directory run & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null' EXIT; \
	$(BIN)/python manage.py simulate_class --class DEMOCLASS --students $(DEMO_STUDENTS) --closed-loop \
		--seconds $(DEMO_SECONDS) --wait-for-server 120

# Two pytest-xdist workers: most of the suite waits on servers, browsers and sockets, not on a core.
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: dev-packages
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS)) $(PYTEST_ARGS)

# Regenerates docs/screenshots/ from a real browser session (Chromium, fake camera playing a shared clip).
screenshots: REQUIRE_NODE := 1
screenshots: dev-packages
	$(BIN)/pytest tests/test_browser_screenshots.py -p no:cacheprovider --screenshots=docs/screenshots

# Capacity, measured for real in one run (bench/capacity.py): writes docs/performance.md and the README's capacity
# lines and docs/deployment.md's sizing. Needs redis-server; takes about 20 minutes; run it on a quiet machine.
# BENCH_SMOKE=1 runs every section at tiny sizes into BENCH_OUT instead (CI's check that it still works: counts,
# not timings; under a minute). The README's and the guide's lines quote docs/performance.md, so a run written
# anywhere else (BENCH_OUT=...) leaves them alone.
.PHONY: bench
BENCH_SMOKE ?= 0
PUBLISHED_BENCH := docs/performance.md
BENCH_OUT ?= $(if $(filter 1,$(BENCH_SMOKE)),var/performance-smoke.md,$(PUBLISHED_BENCH))
BENCH_QUOTED_IN = $(if $(filter $(PUBLISHED_BENCH),$(BENCH_OUT)),--readme README.md --sizing docs/deployment.md)
bench: dev-packages
	$(BIN)/python -m bench.capacity --out $(BENCH_OUT) $(if $(filter 1,$(BENCH_SMOKE)),--smoke,$(BENCH_QUOTED_IN))
