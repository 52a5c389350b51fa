"""GET /events: the event bus as Server-Sent Events, resumable, filtered, capped, ended on server stop.

Each event is one frame, `id: <n>` and `data: {"id", "type", "clientId", "data", "timestamp"}` (no `event:`
line, so a browser's EventSource.onmessage gets every type). A client that reconnects with Last-Event-ID
(EventSource sends it by itself) or ?lastEventId= gets what it missed; when the bus no longer holds it, a
`reset` event (data: reason, lastEventId, oldestEventId) says to read the state again, then the stream goes
on live. A comment line every EVENTS_KEEPALIVE_S seconds on an idle stream keeps proxies and dead-peer
detection honest (with an `id:` line when the filters skipped events since the last id sent); at the same pace
the stream checks the caller's credentials again and ends once they are revoked or expired.

Every open stream holds one waitress thread for as long as it lasts, so at most EVENTS_MAX_STREAMS are open at
once (one more is answered 503 with Retry-After), and ApiServer.stop() ends them first: waitress would
otherwise wait for them before it stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, current_app, request

from ..clock import iso, utc_now
from ..errors import InvalidInput, Unavailable
from ..events.bus import BusEvent, EventBus, sse_frame
from ..events.hub import POOL_EVENTS
from .security import credentials_still_valid

bp = Blueprint("events", __name__)
EVENT_TYPES = POOL_EVENTS  # what ?types= may name; `reset` is always sent
RECONNECT_MS = 3000  # the `retry:` a browser waits before it reconnects
BUSY_RETRY_S = 5


class EventStreams:
    """The open streams of one app: counted against `limit`, all ended by stop()."""

    def __init__(self, bus: EventBus, limit: int, keepalive_s: float):
        self.bus = bus
        self.limit = limit
        self.keepalive_s = keepalive_s
        self._lock = threading.Lock()
        self._open = 0
        self._stopping = False

    @property
    def open_count(self) -> int:
        """Streams open now."""
        with self._lock:
            return self._open

    @property
    def stopping(self) -> bool:
        """True once stop() was called."""
        return self._stopping

    def acquire(self) -> Callable[[], None]:
        """Take a place for a new stream (Unavailable when full or stopping); returns its release function."""
        with self._lock:
            if self._stopping:
                raise Unavailable("ZapPool is shutting down", code="shutting_down")
            if self._open >= self.limit:
                raise Unavailable(f"Too many event streams open (at most {self.limit}); try again later",
                                  code="too_many_streams", details={"limit": self.limit, "retryAfter": BUSY_RETRY_S})
            self._open += 1
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                with self._lock:
                    self._open -= 1

        return release

    def stop(self) -> None:
        """End every stream now and refuse new ones (the server is stopping)."""
        self._stopping = True
        self.bus.wake()


def install(app: Flask, bus: EventBus) -> EventStreams:
    """Serve /events from `bus`, with the app's limits; ApiServer.stop() ends the streams."""
    streams = EventStreams(bus, int(app.config["EVENTS_MAX_STREAMS"]), float(app.config["EVENTS_KEEPALIVE_S"]))
    app.extensions["zapool.streams"] = streams
    app.extensions.setdefault("zapool.before_stop", []).append(streams.stop)
    app.register_blueprint(bp)
    return streams


@bp.get("/events")
def stream() -> Response:
    """Pool events as they happen: ?clientId=a,b &types=status,message &lastEventId= (or Last-Event-ID)."""
    streams: EventStreams = current_app.extensions["zapool.streams"]
    since = _last_event_id()
    matches = _matcher(_csv("clientId"), _types())
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if request.method == "HEAD":  # waitress would run a streamed body to its end, writing nothing: never
        return Response(mimetype="text/event-stream", headers=headers)
    allowed = credentials_still_valid()
    release = streams.acquire()
    cursor = streams.bus.latest_id if since is None else since  # now, not when waitress starts the body
    response = Response(_frames(streams, cursor, matches, allowed), mimetype="text/event-stream",
                        headers=headers)
    response.call_on_close(release)  # when waitress is done with the response, however it ended
    return response


def _frames(streams: EventStreams, cursor: int, matches: Callable[[BusEvent], bool],
            allowed: Callable[[], bool]) -> Iterator[bytes]:
    """The body of a stream: a greeting, then the events after `cursor` (a reset when some were lost) and
    keep-alives."""
    bus, keepalive = streams.bus, streams.keepalive_s
    yield f"retry: {RECONNECT_MS}\n: ZapPool events\n\n".encode()
    told = cursor  # the id the client would resume from
    next_beat = next_check = time.monotonic() + keepalive
    while True:
        batch = bus.wait(cursor, next_beat - time.monotonic(), stop=lambda: streams.stopping)
        if streams.stopping or bus.closed:
            return
        passed = [event for event in batch.events if matches(event)]
        frames = ([_reset(bus, cursor, batch.last_id)] if batch.gap else []) + [e.frame for e in passed]
        told = passed[-1].id if passed else batch.last_id if batch.gap else told
        cursor = batch.last_id
        now = time.monotonic()
        if now >= next_check:
            if not allowed():
                return
            next_check = now + keepalive
        if frames:
            yield b"".join(frames)
            next_beat = now + keepalive
        elif now >= next_beat:
            # An id-only frame moves EventSource's lastEventId past the events the filters skipped, so a
            # reconnect does not ask for them (nor get a reset once the ring has moved past them).
            yield b": keep-alive\n\n" if told == cursor else f": keep-alive\nid: {cursor}\n\n".encode()
            told, next_beat = cursor, now + keepalive


def _reset(bus: EventBus, asked: int, newest: int) -> bytes:
    """The reset frame: the events after `asked` are not all held; it carries the newest id to resume from."""
    oldest = bus.oldest_id()
    reason = "too_old" if asked < oldest - 1 else "unknown_id"
    return sse_frame(newest, {"id": newest, "type": "reset", "clientId": None,
                              "data": {"reason": reason, "lastEventId": asked, "oldestEventId": oldest},
                              "timestamp": iso(utc_now())})


def _last_event_id() -> int | None:
    """Last-Event-ID (what a reconnecting EventSource sends) or ?lastEventId=; None: start from now."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("lastEventId")
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit():
        raise InvalidInput("'lastEventId' must be an event id (a whole number)", details={"field": "lastEventId"})
    return int(raw.strip())


def _csv(name: str) -> frozenset[str] | None:
    """?name=a,b as a set (None when absent or empty)."""
    values = {v.strip() for v in request.args.get(name, "").split(",") if v.strip()}
    return frozenset(values) or None


def _types() -> frozenset[str] | None:
    """?types=, each a known event type."""
    types = _csv("types")
    unknown = sorted((types or set()) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"Unknown event types {', '.join(unknown)[:200]}; known: {', '.join(EVENT_TYPES)}",
                           details={"field": "types", "known": list(EVENT_TYPES)})
    return types


def _matcher(client_ids: frozenset[str] | None, types: frozenset[str] | None) -> Callable[[BusEvent], bool]:
    """Does an event pass the stream's filters."""
    def matches(event: BusEvent) -> bool:
        return ((client_ids is None or event.client_id in client_ids)
                and (types is None or event.type in types))
    return matches
