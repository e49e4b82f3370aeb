#!/usr/bin/env bash
# Create .venv from nothing and install the locked dependencies plus this project (editable).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ] || [ "${TK_FRESH_VENV:-0}" = 1 ]; then
    rm -rf .venv
    "$PYTHON" -m venv .venv
fi

# pip's own exit status is kept; only its notices about absent local index folders are dropped.
pip_install() {
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | { grep -v "^WARNING: Location '.*' is ignored" || true; }
    return "${PIPESTATUS[0]}"
}
pip_install --require-hashes --no-deps -r requirements.lock
pip_install --no-deps --no-build-isolation -e .
