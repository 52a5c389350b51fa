"""PyInstaller hook for phonenumbers, in place of pyinstaller-hooks-contrib's (which takes every submodule).

phonenumbers loads each region's metadata by name at run time (phonenumbers.data, .shortdata), so those are
collected; its place names, carriers and time zones (geodata, carrierdata, tzdata: 4.8 MB of its 5.4 MB) are
loaded only by its geocoder, carrier and timezone modules, which ZapPool never imports (it parses, checks and
formats numbers: backend/validation.py).
"""

from PyInstaller.utils.hooks import collect_submodules

UNUSED = ("phonenumbers.geocoder", "phonenumbers.geodata", "phonenumbers.carrier", "phonenumbers.carrierdata",
          "phonenumbers.timezone", "phonenumbers.tzdata")

hiddenimports = collect_submodules("phonenumbers", filter=lambda name: not name.startswith(UNUSED))
excludedimports = list(UNUSED)
