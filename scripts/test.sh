#!/usr/bin/env bash
# Install what the tests need, then run every check: lint, format, types, layer contracts, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== scripts/test.sh installs what is missing, each step announced: PostgreSQL, Chromium and"
echo "   Node.js (apt-get, as root), Azurite (npm, .test-tools/azurite) and cairn[test] (pip -e);"
echo "   the tests add wandb clients and a minimal install under .test-tools/ (~600 MB in all there)"
# PostgreSQL server binaries for the throwaway test cluster (Debian's package).
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; }
if ! have_postgres; then
  if [ "$(id -u)" != 0 ]; then echo "install Debian's postgresql package first" >&2; exit 1; fi
  echo "== installing Debian's postgresql (apt-get): the throwaway test database cluster"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# Debian's Chromium for the web UI's browser tests (Playwright drives it: no browser download).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then echo "install Debian's chromium package first" >&2; exit 1; fi
  echo "== installing Debian's chromium (apt-get): the web UI's browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Azurite (the Azure Blob emulator of the reference tests) from npm, into a project-local dir.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "install node.js and npm first" >&2; exit 1; fi
  echo "== installing Debian's nodejs and npm (apt-get): they run Azurite"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f .test-tools/azurite/node_modules/azurite/dist/src/blob/main.js ]; then
  echo "== installing azurite@3.35.0 (npm) into .test-tools/azurite: the Azure Blob emulator"
  mkdir -p .test-tools/azurite
  (cd .test-tools/azurite && npm install --no-audit --no-fund --loglevel=error azurite@3.35.0 >/dev/null)
fi
echo "== pip install -e '.[test]' (what is not installed yet)"
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "== ruff";          python3 -m ruff check src tests
echo "== ruff format";   python3 -m ruff format --check src tests
echo "== mypy --strict"; python3 -m mypy src
echo "== import-linter"; lint-imports
echo "== pytest";        python3 -m pytest -q -n 2 "$@"
