"""The contract: /openapi.json is valid OpenAPI 3.1, names exactly the routes the app serves, and real answers
from a running server match its schemas; /docs renders it as HTML that needs nothing from the network."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from backend import __version__
from backend.api.openapi import build_document
from backend.api.security import PUBLIC
from tests.api_support import Reply, connect, schema_errors


def _served(app) -> dict[tuple[str, str], str]:
    """(method, OpenAPI path) -> endpoint, for every route of the app."""
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served[(method.lower(), path)] = rule.endpoint
    return served


def _documented(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> operation, for every operation of the document."""
    return {(method, path): op for path, methods in doc["paths"].items() for method, op in methods.items()}


def _check(doc: dict[str, Any], reply: Reply, method: str, path: str) -> None:
    """The reply's status is documented for the operation, and its JSON body matches that response's schema."""
    responses = doc["paths"][path][method]["responses"]
    assert str(reply.status) in responses, (method, path, reply.status, reply.body[:300])
    response = responses[str(reply.status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": doc["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(reply.json)]
    assert not errors, (method, path, errors)


# -- the document ----------------------------------------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1():
    doc = build_document()

    validate(doc)
    assert doc["openapi"].startswith("3.1") and doc["info"] == {**doc["info"], "title": "ZapPool",
                                                                   "version": __version__}
    assert set(doc["components"]["securitySchemes"]) == {"apiKey", "bearer", "session"}
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)


def test_every_route_is_documented_and_nothing_else(stack):
    served = _served(stack.server.app)
    documented = _documented(build_document())

    assert set(served) - set(documented) == set(), "routes missing from the document"
    assert set(documented) - set(served) == set(), "documented routes the app does not serve"
    assert {key: op["operationId"] for key, op in documented.items()} == served


def test_only_the_public_routes_need_no_credentials():
    documented = _documented(build_document())

    public = {op["operationId"] for op in documented.values() if op.get("security") == []}
    assert public == set(PUBLIC) == {"meta.health", "auth.login", "ui.index", "ui.asset", "ui.versioned_asset",
                                     "ui.emoji_font", "meta.show_instance", "media.media_link",
                                     "contacts.picture_link", "ui.chart_library"}  # a signed token, as media_link
    for op in documented.values():
        if op["operationId"] not in PUBLIC:
            assert "401" in op["responses"], op["operationId"]


def test_the_server_serves_the_document_with_credentials_only(stack):
    served = stack.api.call("GET", "/openapi.json")
    anonymous = stack.api.call("GET", "/openapi.json", key=None)

    assert served.status == 200 and served.json == build_document()
    assert anonymous.status == 401 and anonymous.json["error"]["code"] == "unauthorized"


# -- real answers against the schemas ---------------------------------------------------------------------------

def test_real_answers_match_the_documented_schemas(stack, sim):
    doc = build_document()
    connect(stack, sim)
    api = stack.api
    accepted = api.call("POST", "/messages", {"to": "5511988887777", "text": "Olá"})
    sent = api.call("POST", "/clients/vendas/messages?wait=true", {"to": "5511988887777", "text": "de novo"})
    checks = [
        (api.call("GET", "/stats"), "get", "/stats"),
        (api.call("GET", "/clients"), "get", "/clients"),
        (api.call("GET", "/clients/all"), "get", "/clients/all"),
        (api.call("GET", "/clients/vendas"), "get", "/clients/{client_id}"),
        (accepted, "post", "/messages"),
        (sent, "post", "/clients/{client_id}/messages"),
        (api.call("GET", f"/messages/{accepted.json['id']}"), "get", "/messages/{message_id}"),
        (api.call("GET", "/messages?limit=1"), "get", "/messages"),
        (api.call("GET", "/clients/vendas/chats"), "get", "/clients/{client_id}/chats"),
        (api.call("GET", "/health", key=None), "get", "/health"),
        (api.call("GET", "/auth/me"), "get", "/auth/me"),
        (api.call("GET", "/auth/keys"), "get", "/auth/keys"),
        (api.call("GET", "/clients/nao-existe"), "get", "/clients/{client_id}"),
        (api.call("POST", "/messages", {"to": 5511988887777, "text": "x"}), "post", "/messages"),
        (api.call("POST", "/messages", raw=b"{not json"), "post", "/messages"),
        (api.call("GET", "/stats", key=None), "get", "/stats"),
        (api.call("GET", "/webhooks"), "get", "/webhooks"),
        (api.call("GET", "/clients/vendas/numbers/5511988887777"), "get", "/clients/{client_id}/numbers/{number}"),
        (api.call("POST", "/clients/vendas/chats/5511988887777@c.us/read"), "post",
         "/clients/{client_id}/chats/{chat_id}/read"),
        (api.call("GET", "/preferences"), "get", "/preferences"),
        (api.call("PUT", "/preferences", {"language": "en"}), "put", "/preferences"),
        (api.call("PUT", "/preferences", {"language": "fr"}), "put", "/preferences"),
        (api.call("POST", "/clients", {"clientId": "suporte"}), "post", "/clients"),
        (api.call("GET", "/clients/suporte/qr", headers={"Accept": "application/json"}), "get",
         "/clients/{client_id}/qr"),
        (api.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}), "get",
         "/clients/{client_id}/qr"),
        (api.call("POST", "/clients/suporte/pairing-code", {"phoneNumber": "5511977776666"}), "post",
         "/clients/{client_id}/pairing-code"),
        (api.call("POST", "/sessions/restore"), "post", "/sessions/restore"),
    ]

    assert [r.status for r, _, _ in checks] == [200, 200, 200, 200, 202, 200, 200, 200, 200, 200, 200, 200,
                                                404, 422, 400, 401, 503, 200, 200, 200, 200, 422, 201, 200, 409,
                                                200, 200]
    for reply, method, path in checks:
        _check(doc, reply, method, path)


def test_a_schema_check_catches_a_wrong_shape():
    doc = build_document()
    wrong = Reply(200, {}, b'{"totalCreated": "1"}')

    with pytest.raises(AssertionError):
        _check(doc, wrong, "get", "/stats")
    ready = {"id": 1, "type": "ready", "clientId": "vendas", "data": {"phoneNumber": "5511999990001"},
             "timestamp": "2026-11-29T12:00:00.000Z"}
    assert schema_errors(ready, "Event") == []
    assert schema_errors({**ready, "data": {"phoneNumber": 5511}}, "Event")
    assert schema_errors({**ready, "type": "lunch"}, "Event")


# -- /docs ---------------------------------------------------------------------------------------------------------

def test_docs_is_offline_html_naming_every_operation(stack):
    reply = stack.api.call("GET", "/docs")
    page = reply.body.decode()
    doc = build_document()

    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    for (method, path), op in _documented(doc).items():
        assert f"<code>{path}</code>" in page and f'id="{op["operationId"]}"' in page
    for name in doc["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "<script" not in page.lower()
    links = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page, re.IGNORECASE)
    assert links and not [link for link in links if "http" in link or link.startswith("//")]
    assert stack.api.call("GET", "/docs", key=None).status == 401
