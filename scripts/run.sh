#!/usr/bin/env bash
# Set up the app (idempotently) and run it on SQLite at http://127.0.0.1:${PORT:-5000},
# with a background worker that fetches meeting transcripts from Fireflies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh requirements.txt

export FLASK_APP=app
.venv/bin/flask db upgrade

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"

.venv/bin/flask worker &
WORKER_PID=$!
.venv/bin/flask run --host "$HOST" --port "$PORT" &
SERVER_PID=$!
# Stop both (by their process ids) when either stops or this script is stopped. Waiting in
# the background lets a signal to this script run the trap at once.
trap 'kill "$WORKER_PID" "$SERVER_PID" 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM

echo
echo "Exponential is running at http://$HOST:$PORT/ (press Ctrl+C to stop)."
echo
wait -n "$WORKER_PID" "$SERVER_PID"
