# The two commands: `make demo` (set up, then run the demo campaign) and `make test`.
.PHONY: setup demo test test-fast lint

setup:
	@tools/setup.sh

demo: setup
	.venv/bin/callpact demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -m "slow or not slow"

test-fast: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
