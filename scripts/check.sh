#!/usr/bin/env bash
# The project's test command: lint, types, layer contracts, tests with domain branch coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export TK_SHARED_DIR="${TK_SHARED_DIR:-$(cd .. && pwd)/shared}"
echo "== ruff"; ruff check src tests bench
echo "== ruff format"; ruff format --check src tests bench
echo "== mypy --strict (all of src)"; mypy --strict src
echo "== import-linter"; lint-imports
echo "== hadolint"; hadolint --failure-threshold info Dockerfile
echo "== pytest"; pytest "$@"
