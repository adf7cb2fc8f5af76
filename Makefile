# The two commands: `make demo` (set up, then run the demo campaign) and `make test`.
.PHONY: setup demo test test-fast lint testbed lock

setup:
	@tools/setup.sh

demo: setup
	.venv/bin/callpact demo

test: setup testbed
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -m "slow or not slow"

test-fast: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .

# A minimal Asterisk for the integration tests (built once into ~/.cache/callpact; not for production).
testbed: setup
	tools/asterisk-testbed build

# Re-resolve the Python dependencies into requirements.lock (versions + hashes); review the diff.
lock:
	tools/lock.sh
