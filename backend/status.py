"""Statuses: a client's, as in the seed, with the transitions allowed and the reasons given; and a message's
(its status, direction and routing), as the message log stores them."""

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
    SLEEPING = "sleeping"              # an on-demand number closed its browser after its quiet period
    SNAPSHOT_UNREADABLE = "snapshot_unreadable"  # sealed data: its profile snapshot did not open (set aside)
    HANDED_OFF = "handed_off"          # cluster mode: another node drives it now
    ELSEWHERE = "driven_elsewhere"     # cluster mode: another node holds its lease, so it was not started here


class MessageStatus(str, Enum):
    """Where a message stands; the values are what messages.db stores and the API shows."""

    QUEUED = "queued"        # outgoing, accepted, waiting for its number (or any number) and its turn
    SENDING = "sending"      # handed to the number: after a crash it may be out already (looked for first)
    SENT = "sent"            # WhatsApp has it (ack 1)
    DELIVERED = "delivered"  # on the contact's phone (ack 2)
    READ = "read"            # seen, or a voice note played (ack 3, 4)
    FAILED = "failed"        # will not be sent; `reason` says why
    RECEIVED = "received"    # incoming


class Direction(str, Enum):
    """Which way a message went."""

    IN = "in"
    OUT = "out"


class Routing(str, Enum):
    """Who chose the number that sends an outgoing message."""

    PINNED = "pinned"  # the caller named it
    AUTO = "auto"      # the round-robin over the ready numbers, at send time


def can_move(old: ClientStatus, new: ClientStatus) -> bool:
    """True when the transition table allows old -> new."""
    return new in TRANSITIONS[old]
