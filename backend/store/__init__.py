"""Storage: the only package that imports tinydb or sqlite3.

atomic.py          write-temp, fsync, rename; setting bad files aside
sessions.py        dados/whatsapp-sessions.json (TinyDB, in the seed's shape)
sqlite_db.py       one SQLite file: WAL, synchronous=FULL, a writer lock, a reader per thread, versioned schema
message_schema.py  messages.db's schema (tables, indices, triggers) and the records read from it
messages.py        MessageStore: dados/messages.db, the outbox's queue and the log of every message
media.py           dados/media/<message id>: outgoing media bytes while their message waits
"""
