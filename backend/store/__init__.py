"""Storage: the only package that imports tinydb or sqlite3.

atomic.py    write-temp, fsync, rename; setting bad files aside
sessions.py  dados/whatsapp-sessions.json (TinyDB, in the seed's shape)
"""
