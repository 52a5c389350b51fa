"""The built app's size, every byte given to a component: a Markdown table from the dist folder.

`bash scripts/build.sh` makes build/dist/ZapPool/; this walks it and puts each file (symbolic links count as
nothing: they point at a file counted already) into the first component whose patterns match its path, the
last one catching whatever is left, so the rows add up to the folder's total. With `--before DIR` (another
build, e.g. one kept from main) both are shown side by side.

    .venv/bin/python -m bench.package_size
    .venv/bin/python -m bench.package_size --before /tmp/old-dist/ZapPool --top 15
"""

from __future__ import annotations

import argparse
import fnmatch
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "build" / "dist" / "ZapPool"
QT = "_internal/PyQt6/Qt6/"
# The libraries PyInstaller copies from the build machine, by family (their file names under _internal/).
SYSTEM_FAMILIES: list[tuple[str, tuple[str, ...]]] = [
    ("fonts and images (fontconfig, freetype, harfbuzz, png, jpeg)", (
        "libfontconfig*", "libfreetype*", "libharfbuzz*", "libgraphite2*", "libpng*", "libjpeg*", "libbrotli*")),
    ("GTK 3 stack (gtk, gdk, cairo, pango, atk, epoxy...)", (
        "libgtk*", "libgdk*", "libcairo*", "libpango*", "libatk*", "libatspi*", "libepoxy*", "libpixman*",
        "libfribidi*", "libthai*", "libdatrie*", "libXi.*", "libXcursor*", "libXinerama*")),
    ("TLS and Kerberos (openssl: Python's ssl and hashlib; krb5: QtNetwork)", (
        "libssl*", "libcrypto*", "libkrb5*", "libk5crypto*", "libgssapi*", "libcom_err*", "libkeyutils*",
        "libgcrypt*", "libgpg-error*")),
    ("printing (cups, avahi, gnutls and theirs)", (
        "libcups*", "libavahi*", "libgnutls*", "libnettle*", "libhogweed*", "libgmp*", "libp11-kit*",
        "libtasn1*", "libidn2*", "libunistring*")),
    ("sound (alsa, pulse, codecs)", (
        "libasound*", "libpulse*", "libsndfile*", "libFLAC*", "libvorbis*", "libogg*", "libopus*",
        "libmpg123*", "libmp3lame*", "libasyncns*")),
    ("NSS (Chromium's certificates and crypto)", ("libnss*", "libnspr*", "libsmime*", "libsoftokn*",
                                                  "libfreebl*", "libplc*", "libplds*", "libnssckbi*")),
    ("X11, xcb and Wayland", ("libX*", "libxcb*", "libxkb*", "libwayland*")),
]
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("Qt WebEngine: Chromium (libQt6WebEngineCore)", (QT + "lib/libQt6WebEngineCore.so*",)),
    ("Qt WebEngine: resources, locales, helper process", (
        QT + "resources/*", QT + "translations/qtwebengine_locales/*", QT + "libexec/*")),
    ("Qt: ICU data and libraries", (QT + "lib/libicu*",)),
    ("Qt: other libraries", (QT + "lib/*",)),
    ("Qt: plugins", (QT + "plugins/*",)),
    ("Qt: QML modules", (QT + "qml/*",)),
    ("Qt: translations (.qm)", (QT + "translations/*",)),
    ("PyQt6 bindings", ("_internal/PyQt6/*",)),
    ("Playwright: Node.js", ("_internal/playwright/driver/node",)),
    ("Playwright: its JavaScript package", ("_internal/playwright/*",)),
    ("Python: libpython", ("_internal/libpython*",)),
    ("Python: stdlib extension modules", ("_internal/python3*",)),
    ("Python: the executable with all Python code, base_library.zip", ("ZapPool", "ZapPool.exe",
                                                                        "_internal/base_library.zip")),
    ("Pillow (the QR codes' images)", ("_internal/PIL/*", "_internal/pillow.libs/*")),
    ("ZapPool's files: frontend, WA-JS bundle, simulator, icon", (
        "_internal/frontend/*", "_internal/node_modules/*", "_internal/wasim/*", "_internal/build/*",
        "_internal/backend/*", "_internal/package.json")),
    *[(f"system libraries: {name}", tuple(f"_internal/{p}" for p in patterns))
      for name, patterns in SYSTEM_FAMILIES],
    ("system libraries: others (glib, dbus, systemd, C++ runtime...)", ("_internal/lib*.so*", "_internal/*.chk")),
    ("Python packages' other files (extensions, metadata, data)", ("*",)),
]


def component_of(relative: str) -> str:
    """The first component whose patterns match `relative` (a path inside the app folder, with slashes)."""
    return next(name for name, patterns in COMPONENTS if any(fnmatch.fnmatch(relative, p) for p in patterns))


def measure(folder: Path) -> tuple[Counter[str], Counter[str], list[tuple[int, str]]]:
    """Bytes and files per component, and every file's (bytes, path)."""
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    files: list[tuple[int, str]] = []
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        relative, size = path.relative_to(folder).as_posix(), path.stat().st_size
        name = component_of(relative)
        sizes[name] += size
        counts[name] += 1
        files.append((size, relative))
    return sizes, counts, files


def mb(size: int) -> str:
    """Megabytes (10^6 bytes), as `du --si` and the issue count them."""
    return f"{size / 1e6:.1f}"


def table(after: Path, before: Path | None) -> str:
    """The Markdown table by component (both builds when `before` is given)."""
    sizes, counts, _ = measure(after)
    old_sizes, old_counts, _ = measure(before) if before else (Counter(), Counter(), [])
    rows = ["| component | MB | files |" + (" before: MB | before: files |" if before else ""),
            "|---|---|---|" + ("---|---|" if before else "")]
    for name, _ in COMPONENTS:
        if sizes[name] or old_sizes[name]:
            extra = f" {mb(old_sizes[name])} | {old_counts[name]} |" if before else ""
            rows.append(f"| {name} | {mb(sizes[name])} | {counts[name]} |{extra}")
    extra = f" **{mb(sum(old_sizes.values()))}** | {sum(old_counts.values())} |" if before else ""
    rows.append(f"| **total** | **{mb(sum(sizes.values()))}** | {sum(counts.values())} |{extra}")
    return "\n".join(rows)


def main() -> None:
    """Print the table, then the largest files."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", type=Path, default=APP_DIR, help="the built app folder (build/dist/ZapPool)")
    parser.add_argument("--before", type=Path, help="another build of the app, shown beside it")
    parser.add_argument("--top", type=int, default=10, help="how many of the largest files to list")
    args = parser.parse_args()
    print(f"{args.app}" + (f" (before: {args.before})" if args.before else "") + "\n")
    print(table(args.app, args.before))
    largest = sorted(measure(args.app)[2], reverse=True)[:args.top]
    print(f"\n| the {len(largest)} largest files | MB |\n|---|---|")
    for size, relative in largest:
        print(f"| {relative} | {mb(size)} |")


if __name__ == "__main__":
    main()
