# sageint — the few targets people need. `make run` and `make test` install everything they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install run test test-services lint format clean

# Re-installs only when a requirements file changes, so repeated runs are fast. requirements-dev.txt is the
# runtime (requirements.txt, all the container installs) plus the test and lint tools.
$(VENV)/.installed: requirements.txt requirements-dev.txt sdk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet -e ./sdk
	touch $@

install: $(VENV)/.installed

# Embedded default: SQLite, kombu filesystem broker, Celery worker + beat beside the web server, sandbox on.
# honcho runs the three processes of Procfile.dev and stops them all together on Ctrl-C.
RUN_ENV := DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) PATH="$(abspath $(BIN)):$$PATH"
run: install
	@$(RUN_ENV) python manage.py migrate --no-input --verbosity 0
	@$(RUN_ENV) python manage.py bootstrap_demo --print-credentials --announce-url
	@$(RUN_ENV) honcho start -f Procfile.dev -p $(PORT)

# The whole suite runs in TEST_WORKERS parallel processes (pytest-xdist), a whole test file per process so a file's
# live server or browser starts once: most of a test's time is spent waiting on other processes, not on the CPU.
# Chosen tests (PYTEST_ARGS="tests/x.py") run in this one process unless TEST_WORKERS says otherwise.
TEST_WORKERS ?= $(if $(PYTEST_ARGS),0,4)

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The second CI run: PostgreSQL + Redis + a real Celery worker (see .ci/run).
test-services: install
	TEST_WORKERS=$(TEST_WORKERS) bash scripts/test-services.sh $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var staticfiles
