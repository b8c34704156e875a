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
# Stop the worker (by its process id) when the server stops, however it stops.
trap 'kill "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true' EXIT

echo
echo "Exponential is running at http://$HOST:$PORT/ (press Ctrl+C to stop)."
echo
.venv/bin/flask run --host "$HOST" --port "$PORT"
