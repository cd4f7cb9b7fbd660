# The two commands of the README. Both set the machine up first (scripts/setup.sh is idempotent).
.PHONY: up test setup lint bench

setup:
	bash scripts/setup.sh

up: setup
	.venv/bin/visionq up

test: setup
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check . && .venv/bin/mypy

# Every benchmark: each prints a table and writes bench/results/<name>.json. The gateway one drives wrk.
bench: setup
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk || sudo apt-get install -y -qq wrk; }
	.venv/bin/python bench/nms.py
	.venv/bin/python bench/detection.py --threads 1
	.venv/bin/python bench/super_resolution.py --threads 1 --memory
	.venv/bin/python bench/gateway.py
