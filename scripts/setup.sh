#!/usr/bin/env bash
# Installs what ZapPool needs and is missing: Debian's Chromium, Node.js/npm, the pinned WA-JS bundle
# (npm ci) and a virtual environment with the Python packages. Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
need_apt=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# Tests only (scripts/test.sh sets ZAPOOL_TEST_TOOLS): an X server, so the built app's window is also tried
# under X11 as on a desktop (tests/test_built_app.py), not only on Qt's offscreen platform.
# And a D-Bus daemon: the notification tests run a desktop's notification service on a private bus.
if [ -n "${ZAPOOL_TEST_TOOLS:-}" ]; then
  command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
  command -v dbus-daemon >/dev/null 2>&1 || need_apt+=(dbus-daemon)
  # And PostgreSQL's server programs: the cluster tests start a throw-away server with them (bench/postgres.py).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 \
    || need_apt+=(postgresql)
fi
# The desktop windows under X11: Qt's xcb platform plugin loads these (offscreen and Wayland do not need them).
ldconfig_cmd=$(command -v ldconfig || echo /sbin/ldconfig)
for pkg_lib in libxcb-icccm4:libxcb-icccm.so.4 libxcb-keysyms1:libxcb-keysyms.so.1 \
               libxcb-cursor0:libxcb-cursor.so.0 libxcb-xinerama0:libxcb-xinerama.so.0; do
  "$ldconfig_cmd" -p 2>/dev/null | grep -q "${pkg_lib#*:}" || need_apt+=("${pkg_lib%%:*}")
done
# The Linux windows: WebKitGTK through PyGObject (the default; docs/PERFORMANCE.md, "Linux windows on WebKitGTK").
# The typelibs and WebKitGTK itself are the system's; PyGObject and pycairo have no Linux wheel on PyPI, so pip
# builds them, which needs their headers, pkg-config, a C compiler and Python's own headers.
if [ "$(uname -s)" = Linux ]; then
  typelibs=$("$ldconfig_cmd" -p 2>/dev/null | grep -o '/[^ ]*/libgobject-2.0.so.0$' | head -n1 | xargs -r dirname)
  [ -e "${typelibs:-/usr/lib}/girepository-1.0/WebKit2-4.1.typelib" ] \
    || need_apt+=(gir1.2-webkit2-4.1 libwebkit2gtk-4.1-0 gir1.2-gtk-3.0)
  pkg-config --exists gobject-introspection-1.0 2>/dev/null || need_apt+=(libgirepository1.0-dev pkg-config)
  pkg-config --exists cairo 2>/dev/null || need_apt+=(libcairo2-dev pkg-config)
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
  "${PYTHON:-python3}" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
    || need_apt+=(python3-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | awk '!seen[$0]++')
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${need_apt[*]}; install them with your system's package manager" >&2; exit 1
  fi
  say "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Headless numbers start in Chromium's headless shell when there is one: half the CPU per browser started
# (docs/PERFORMANCE.md, "Chromium's side"). Optional: where the distribution has no such package, the numbers
# run in the full Chromium and setup goes on.
if command -v apt-get >/dev/null 2>&1 && ! command -v chromium-headless-shell >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "apt-get install chromium-headless-shell (optional)"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      chromium-headless-shell >/dev/null; } \
    || say "chromium-headless-shell is not available here: the numbers' browsers use the full Chromium"
fi

# WA-JS, exactly as package-lock.json pins it.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.zapool-installed 2>/dev/null)" != "$lock_sum" ]; then
  say "npm ci (WA-JS bundle)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.zapool-installed
fi

# Python packages in .venv; reinstalled when pyproject.toml changes.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "python venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.zapool-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "pip install -e .[test,build]"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,build]"
  echo "$want" > "$stamp"
fi
say "ok"
