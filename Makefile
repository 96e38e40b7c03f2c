# `make run` and `make test` on a fresh machine: both start with `setup`, which is quick
# when nothing changed. Only python3 (3.11+) and make are needed; everything else comes from PyPI.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A copy of the requirements.txt last installed: pip runs again only when the lock's content changes.
STAMP := $(VENV)/requirements.installed

.PHONY: setup run test

setup:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "SmartSession needs Python 3.11 or newer, but '$(PYTHON)' is: $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Install Python 3.11+, or point make at one: make PYTHON=python3.12 ..." >&2; \
		exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# --no-deps: the lock lists every package; see the top of requirements.txt for what it leaves out and why.
	@cmp -s requirements.txt $(STAMP) || { \
		$(BIN)/python -m pip install --no-deps -r requirements.txt && cp requirements.txt $(STAMP); }
	@$(BIN)/python -m smartsession.envcheck
	@$(BIN)/python manage.py check_face_model
	@$(BIN)/python manage.py migrate --no-input --verbosity 0

# Demo data in `run` and not in `setup`: `make test` also runs setup, and CI's DATABASE_URL needs no demo
# accounts (each password costs ~0.3 s to hash). seed_demo is idempotent, so every `make run` may call it.
run: setup
	@$(BIN)/python manage.py seed_demo
	@# Sessions a crashed server left active are ended from what they recorded.
	@$(BIN)/python manage.py close_stale_sessions
	@# Frames up to vision's own 2 MB limit (2.7 MB as base64) reach our decoder and its clear error,
	@# instead of Daphne's default 1 MB cut-off closing the socket.
	$(BIN)/daphne -b 127.0.0.1 -p $${PORT:-8000} --websocket-max-message-size 3000000 smartsession.asgi:application

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)
