#!/usr/bin/env bash
# Install the project in a virtual environment and serve the demo desktop on
# spice://127.0.0.1:5900 (arguments go to `spice-server demo`, e.g. --port 5901).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
exec .venv/bin/spice-server demo "$@"
