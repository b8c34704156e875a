#!/usr/bin/env bash
# Set up the app (idempotently) and run it on SQLite at http://127.0.0.1:${PORT:-5000}.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh requirements.txt

export FLASK_APP=app
.venv/bin/flask db upgrade

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
echo
echo "Exponential is running at http://$HOST:$PORT/ (press Ctrl+C to stop)."
echo
exec .venv/bin/flask run --host "$HOST" --port "$PORT"
