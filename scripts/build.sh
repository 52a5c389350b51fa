#!/usr/bin/env bash
# Builds the double-clickable app: build/dist/ZapPool/ (run build/dist/ZapPool/ZapPool, or ZapPool.exe on Windows).
# Sets up what is missing first (the same setup as start.sh and test.sh), then runs PyInstaller on build/zapool.spec.
# Linux: the windows on the system's WebKitGTK, no Qt inside; ZAPOOL_GUI=qt bash scripts/build.sh builds the Qt one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m PyInstaller build/zapool.spec --noconfirm --log-level WARN \
  --workpath build/.work --distpath build/dist
echo "[build] build/dist/ZapPool/ ($(du -sh build/dist/ZapPool | cut -f1))"
