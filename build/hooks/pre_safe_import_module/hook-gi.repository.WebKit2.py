# gi.repository.WebKit2 is made at run time by PyGObject: mark it as a run-time module so hook-gi.repository.WebKit2 runs
# (the same as PyInstaller's own pre-import hooks for Gtk, Soup...). Only the WebKitGTK build imports it.


def pre_safe_import_module(api):  # noqa: ANN001, ANN201 - PyInstaller's hook signature
    api.add_runtime_module(api.module_name)
