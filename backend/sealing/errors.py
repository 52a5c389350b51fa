"""The sealing errors a user can meet: each says what to do, and none carries a key, a passphrase or a file's
content in its message."""

from __future__ import annotations

from ..errors import ZapPoolError


class SealingError(ZapPoolError):
    """Something about the data folder's keys or a sealed file."""

    status = 500
    code = "sealing_error"


class WrongPassphrase(SealingError):
    """The passphrase (or the keyring's secret) does not open the data folder's key file."""

    status = 401
    code = "wrong_passphrase"


class PassphraseRequired(SealingError):
    """The folder is sealed and no keyring entry opens it: a passphrase must be given."""

    status = 401
    code = "passphrase_required"


class KeyringUnavailable(SealingError):
    """No usable OS keyring (no Secret Service, a plaintext or failing backend): use a passphrase instead."""

    status = 503
    code = "keyring_unavailable"


class SealedFileUnreadable(SealingError):
    """A sealed file failed its check: damaged, cut short, swapped for another file or sealed with another key."""

    status = 500
    code = "sealed_file_unreadable"
