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

bench: setup
	.venv/bin/python bench/gateway.py
