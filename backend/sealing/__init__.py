"""Sealed data (issue 19): the data folder's keys (keys.py over the OS keyring, vault.py, and scrypt passphrases,
wrapping.py), AES-256-GCM over bytes (cipher.py), the command line (cli.py) and one-file backups (backup.py).
Crypto over bytes and folders, nothing else: the stores seal their files through it, the pool its numbers'
profile snapshots."""

from .cipher import Sealer, is_sealed
from .errors import KeyringUnavailable, PassphraseRequired, SealedFileUnreadable, SealingError, WrongPassphrase
from .keys import KeyFile

__all__ = ["KeyFile", "KeyringUnavailable", "PassphraseRequired", "SealedFileUnreadable", "Sealer", "SealingError",
           "WrongPassphrase", "is_sealed"]
