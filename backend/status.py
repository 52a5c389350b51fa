"""A client's status, as in the seed, with the transitions allowed between them and the reasons given."""

from __future__ import annotations

from enum import Enum


class ClientStatus(str, Enum):
    """Where one WhatsApp number stands; the values are the seed's strings."""

    IDLE = "idle"                    # created, never started
    INITIALIZING = "initializing"    # browser starting, WhatsApp Web loading
    QR_READY = "qr_ready"            # waiting for the phone: a QR code (or pairing code) is shown
    AUTHENTICATED = "authenticated"  # the phone accepted; WhatsApp Web is syncing
    READY = "ready"                  # connected: can send and receive
    DISCONNECTED = "disconnected"    # not connected; `reason` says why
    ERROR = "error"                  # could not start; `reason` and lastError say why


S = ClientStatus
TRANSITIONS: dict[ClientStatus, frozenset[ClientStatus]] = {
    S.IDLE: frozenset({S.INITIALIZING}),
    S.INITIALIZING: frozenset({S.QR_READY, S.AUTHENTICATED, S.READY, S.DISCONNECTED, S.ERROR}),
    S.QR_READY: frozenset({S.AUTHENTICATED, S.READY, S.DISCONNECTED, S.ERROR}),
    S.AUTHENTICATED: frozenset({S.READY, S.DISCONNECTED, S.ERROR}),
    S.READY: frozenset({S.DISCONNECTED, S.ERROR}),
    # READY again straight from DISCONNECTED only when the network comes back with the page still open.
    S.DISCONNECTED: frozenset({S.INITIALIZING, S.READY}),
    S.ERROR: frozenset({S.INITIALIZING, S.DISCONNECTED}),
}
ACTIVE = frozenset({S.INITIALIZING, S.QR_READY, S.AUTHENTICATED, S.READY})


class Reason:
    """Why a client is disconnected or in error (stable strings for the API and the UI)."""

    MANUAL = "manual"                  # the user disconnected it
    LOGGED_OUT = "logged_out"          # unlinked: from the phone, or by logout()
    NETWORK = "network"                # WhatsApp Web lost its connection
    BROWSER_CLOSED = "browser_closed"  # the browser process went away
    BROWSER_CRASHED = "browser_crashed"
    QR_TIMEOUT = "qr_timeout"          # nobody scanned: WhatsApp stopped showing codes
    LOAD_FAILED = "load_failed"        # WhatsApp Web did not load
    BROWSER_NOT_FOUND = "browser_not_found"
    SHUTDOWN = "shutdown"              # ZapPool is closing


def can_move(old: ClientStatus, new: ClientStatus) -> bool:
    """True when the transition table allows old -> new."""
    return new in TRANSITIONS[old]
