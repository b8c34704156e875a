#!/usr/bin/env bash
# Set up everything the tests need (idempotently) and run every test. Extra arguments go to pytest.
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

exec .venv/bin/python -m pytest "$@"
