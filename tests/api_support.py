"""Test support for the REST API: an HTTP helper, the stack a test runs, linking a number, an SSE reader."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from backend.assembly import build_service, stop_around_pool
from backend.api import create_app
from backend.api.openapi import build_document
from backend.api.server import ApiServer
from backend.auth.passwords import ScryptParams
from backend.auth.service import AuthService
from backend.config import Settings
from backend.webhooks.service import WebhookService
from backend.whatsapp.pool import WhatsAppPool
from tests.conftest import link_number, running_pool

PHONE = "5511999990001"
FAST_SCRYPT = ScryptParams(n=2 ** 10, r=8, p=1)  # real scrypt, cheaper: tests log in many times


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


# -- every answer against the contract --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _contract() -> tuple[dict[str, Any], list[tuple[re.Pattern[str], str]]]:
    """The OpenAPI document, and a pattern per documented path: {name} matches what its parameter's schema
    allows (one segment by default), so /clients/all is not taken for /clients/{client_id}."""
    doc = build_document()
    patterns = []
    for path, methods in doc["paths"].items():
        schemas = {p["name"]: p["schema"] for op in methods.values() for p in op["parameters"] if p["in"] == "path"}

        def segment(match: re.Match[str]) -> str:
            pattern = schemas.get(match.group(1), {}).get("pattern")
            return f"(?:{pattern.removeprefix('^').removesuffix('$')})" if pattern else "[^/]+"

        patterns.append((re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", segment, re.escape(path)) + "$"), path))
    return doc, patterns


def check_against_contract(reply: Reply, method: str, url_path: str) -> None:
    """The answer's status is documented for its operation and a JSON body matches that answer's schema.
    Paths the document does not have (unknown URLs, wrong methods) are left to the test's own assertions."""
    doc, patterns = _contract()
    path = urlsplit(url_path).path
    template = next((t for pattern, t in patterns if pattern.match(path) and method.lower() in doc["paths"][t]),
                    None)
    if template is None:
        return
    responses = doc["paths"][template][method.lower()]["responses"]
    assert str(reply.status) in responses, (method, template, reply.status, reply.body[:300])
    response = responses[str(reply.status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content_type = (reply.headers.get("Content-Type") or "").split(";")[0].strip() if reply.headers else ""
    if content_type != "application/json":
        return
    assert "application/json" in response.get("content", {}), (method, template, reply.status, "JSON not documented")
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": doc["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(reply.json)]
    assert not errors, (method, template, reply.status, errors)


def schema_errors(instance: Any, component: str) -> list[str]:
    """Where `instance` breaks the document's component schema `component` (empty: it matches)."""
    doc, _ = _contract()
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{component}", "components": doc["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


class Api:
    """A tiny HTTP client for the server under test; every answer is checked against /openapi.json."""

    def __init__(self, base: str, key: str | None):
        self.base = base
        self.key = key

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, key: str | None = "default") -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        key = self.key if key == "default" else key
        if key:
            request.add_header("X-Api-Key", key)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                reply = Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as err:
            reply = Reply(err.code, err.headers, err.read())
        check_against_contract(reply, method, path)
        return reply


@dataclass
class Stack:
    """Everything a test needs: pool, auth, server, a client with a valid key."""

    pool: WhatsAppPool
    auth: AuthService
    server: ApiServer
    api: Api
    key_id: str


def connect(stack: Stack, sim, client_id: str = "vendas", phone: str = PHONE) -> dict:
    """conftest.connect through the REST API, as an integrator links a number: POST /clients, the QR code
    GET /clients/{id}/qr serves, GET /clients/{id} until ready (conftest.link_number does the steps)."""
    def create() -> dict[str, Any]:
        created = stack.api.call("POST", "/clients", {"clientId": client_id})
        assert created.status == 201, created.body
        return created.json

    return link_number(sim, phone, client_id, start=create,
                       code=lambda: stack.api.call("GET", f"/clients/{client_id}/qr",
                                                   headers={"Accept": "application/json"}).json["code"],
                       info=lambda: stack.api.call("GET", f"/clients/{client_id}").json)


class EventStream:
    """GET /events read by a background thread, frame by frame, as a browser's EventSource would.

    `events` holds each event's JSON with the frame's `id:` line checked against it; `comments` the comment
    lines (keep-alives); `ended` is set once the server closes the stream. Every event is checked against the
    document's Event schema; a mismatch fails the test at its next wait or read of the events.
    """

    def __init__(self, base: str, path: str = "/events", *, key: str | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30.0):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        all_headers = {"Accept": "text/event-stream", **({"X-Api-Key": key} if key else {}), **(headers or {})}
        self.conn.request("GET", path, headers=all_headers)
        self._sock = self.conn.sock  # getresponse() hands it to the response (waitress says Connection: close)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.events: list[dict[str, Any]] = []
        self.off_contract: list[tuple[dict[str, Any], list[str]]] = []
        self.comments: list[str] = []
        self.retry: int | None = None
        self.last_event_id: int | None = None
        self.ended = threading.Event()
        self._cond = threading.Condition()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True, name="sse-reader").start()
        else:
            self.body = self.response.read()
            self.ended.set()

    @property
    def json(self) -> Any:
        """The body of a refused stream."""
        return json.loads(self.body)

    def _read(self) -> None:
        """Parse frames until the stream ends."""
        data: list[str] = []
        frame_id: str | None = None
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if frame_id is not None:
                        self.last_event_id = int(frame_id)  # as EventSource does, even with no data
                    if data:
                        self._add(json.loads("\n".join(data)), frame_id)
                    data, frame_id = [], None
                elif line.startswith(":"):
                    with self._cond:
                        self.comments.append(line[1:].strip())
                        self._cond.notify_all()
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    elif name == "id":
                        frame_id = value
                    elif name == "retry":
                        self.retry = int(value)
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return
        finally:
            self.response.close()  # the last reference to the socket: now the server's next write fails
            with self._cond:
                self.ended.set()
                self._cond.notify_all()

    def _add(self, event: dict[str, Any], frame_id: str | None) -> None:
        assert frame_id is not None and int(frame_id) == event["id"], (frame_id, event)
        errors = schema_errors(event, "Event")
        with self._cond:
            if errors:
                self.off_contract.append((event, errors))
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = 20.0,
                 what: str = "events") -> Any:
        """Wait until `predicate(events so far)` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                assert not self.off_contract, self.off_contract
                value = predicate(list(self.events))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; got {[e['type'] for e in self.events]}")
                self._cond.wait(min(left, 0.5))

    def wait_event(self, type_: str, where: Callable[[dict[str, Any]], bool] = lambda e: True,
                   timeout: float = 20.0) -> dict[str, Any]:
        """The first event of a type for which `where(event)` holds."""
        return self.wait_for(lambda evs: next((e for e in evs if e["type"] == type_ and where(e)), None),
                             timeout, what=type_)

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        """The events of these types so far, in order."""
        with self._cond:
            assert not self.off_contract, self.off_contract
            return [e for e in self.events if e["type"] in types]

    def close(self) -> None:
        """Hang up, as a browser tab that is closed (the reader thread closes the socket on its way out)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def api_app(pool: WhatsAppPool, auth: AuthService, webhooks: WebhookService | None = None,
            test_config: dict[str, Any] | None = None) -> Flask:
    """The REST API over `pool` as app.py builds it: a service (its event bus fed by the pool, webhooks too)."""
    return create_app(build_service(pool, auth, webhooks), auth, test_config)


def shut_down(server: ApiServer, pool: WhatsAppPool) -> None:
    """The API, then the capabilities around the pool and the pool, as app.py stops them. Their stores are
    closed too: a test run builds hundreds of stacks, and each left open kept its databases' files open (over
    1,000 descriptors, where waitress's select() loop stops accepting)."""
    server.stop()
    stop_around_pool(server.app.extensions["zapool.service"], pool)


@contextmanager
def api_stack(runtime, settings: Settings, *, webhooks: WebhookService | None = None,
              test_config: dict[str, Any] | None = None) -> Iterator[Stack]:
    """A pool on the simulator (pacing off), an API key, and the API as app.py builds it on a free port; with
    `webhooks`, started here and fed the pool's events; `test_config`: the app's test switches."""
    pool = running_pool(Settings(**{**settings.__dict__, "send_interval_s": 0, "send_jitter_s": 0}), runtime)
    if webhooks is not None:
        webhooks.start()
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)
    auth.reset_password("senha-forte-123")
    key_id, key = auth.create_api_key("testes")
    server = ApiServer(api_app(pool, auth, webhooks, test_config), auth, port=0).start()
    try:
        yield Stack(pool, auth, server, Api(server.url, key), key_id)
    finally:
        shut_down(server, pool)
        if webhooks is not None:
            webhooks.stop()


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """A pool on the simulator, an API key, and the API on a free port."""
    with api_stack(runtime, settings) as made:
        yield made
