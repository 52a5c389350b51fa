# PyInstaller run-time hook of the WebKitGTK build (build/zapool.spec, the Linux default): it has no Qt, so its
# windows are GTK's unless the person says otherwise.
import os

os.environ.setdefault("ZAPOOL_GUI", "gtk")
