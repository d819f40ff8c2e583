#!/usr/bin/env bash
# Install what the tests need, then run every check: lint, format, types, layer contracts, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "== ruff";          python3 -m ruff check src tests
echo "== ruff format";   python3 -m ruff format --check src tests
echo "== mypy --strict"; python3 -m mypy src
echo "== import-linter"; lint-imports
echo "== pytest";        python3 -m pytest -q -n 2 "$@"
