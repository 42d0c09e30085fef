# The two commands a new user tries first: `make run` and `make test`.
# Every target makes the virtual environment first; `install` is idempotent (a stamp file
# records the pyproject.toml it was made from).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test soak bench lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# compat: the checkout goes on sys.path by a plain .pth line; the default editable finder cost every
	# start of the command line some 20 ms of imports.
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/execdeck $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite N times in a row with a busy-loop hog on every core (`make soak N=10`).
N ?= 5
soak: $(STAMP)
	PY=$(PY) bash .ci/soak $(N) $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check tui tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
