# Create .venv if it is missing and install the pinned requirements when they changed.
# Sourced by run.sh and test.sh with the requirements file as $1.

REQUIREMENTS="$1"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is required; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
    echo "Set PYTHON to a Python 3.11 interpreter, for example: PYTHON=python3.11 $0" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv ..."
    "$PYTHON" -m venv .venv
fi

# The stamp contains a digest of every requirements file, so a changed pin reinstalls.
STAMP=.venv/requirements.sha256
DIGEST="$(cat requirements*.txt | .venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')-$REQUIREMENTS"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$DIGEST" ]; then
    echo "Installing the packages of $REQUIREMENTS ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
    echo "$DIGEST" > "$STAMP"
fi
