#!/usr/bin/env bash
# Sets up what is missing, then runs the whole test suite (real Chromium against the WhatsApp Web simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
ZAPOOL_TEST_TOOLS=1 bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
