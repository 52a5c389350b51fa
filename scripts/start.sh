#!/usr/bin/env bash
# Sets up what is missing, then runs ZapPool. Extra arguments go to app.py (try --simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
