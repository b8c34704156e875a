#!/usr/bin/env bash
# Set up everything the tests need (idempotently) and run every test on SQLite, then again on
# PostgreSQL when it accepts connections at 127.0.0.1:5432. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh requirements-test.txt

# The browser tests drive Debian's Chromium; Playwright's own browser download does not work offline.
if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium package for the browser tests ..."
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# TEST_DATABASE=sqlite or =postgresql runs the suite once, on that database only.
if [ -n "${TEST_DATABASE:-}" ]; then
    exec .venv/bin/python -m pytest "$@"
fi

echo "== Tests on SQLite =="
TEST_DATABASE=sqlite .venv/bin/python -m pytest "$@"

# The browser tests stay on SQLite: they exercise templates and scripts, not the database,
# and they are the slowest part of the suite.
if .venv/bin/python -c 'import sys; from tests.databases import postgres_reachable; sys.exit(not postgres_reachable())'; then
    echo "== Tests on PostgreSQL (browser tests excluded) =="
    status=0
    TEST_DATABASE=postgresql .venv/bin/python -m pytest -m "not browser" "$@" || status=$?
    # Exit status 5 means the arguments selected only browser tests; that is not a failure.
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
else
    echo "PostgreSQL does not answer at 127.0.0.1:5432 (or TEST_POSTGRES_URL): the PostgreSQL run was not done; the SQLite run above passed."
fi
