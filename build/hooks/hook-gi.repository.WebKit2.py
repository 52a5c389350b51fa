# WebKitGTK's typelib for pywebview's GTK windows (ZAPOOL_GUI=gtk builds): PyInstaller has no hook for it.
from PyInstaller.utils.hooks.gi import GiModuleInfo


def hook(hook_api):  # noqa: ANN001, ANN201 - PyInstaller's hook signature
    info = GiModuleInfo("WebKit2", "4.1", hook_api=hook_api)
    if info.available:
        binaries, datas, hiddenimports = info.collect_typelib_data()
        hook_api.add_binaries(binaries)
        hook_api.add_datas(datas)
        hook_api.add_imports(*hiddenimports)
