# PyInstaller run-time hook of the Qt build (build/zapool.spec with ZAPOOL_GUI=qt): it carries QtWebEngine and no
# PyGObject, so its windows are Qt's without first looking for WebKitGTK (and logging that it is not there).
import os

os.environ.setdefault("ZAPOOL_GUI", "qt")
