"""The pool's limits are settings: REST preferences (checked, kept, applied at once) and the command line."""

from __future__ import annotations

import json

import app
from backend.store.preferences import PreferencesStore


def test_pool_limits_are_checked_and_name_the_field(stack):
    refused = [stack.api.call("PUT", "/preferences", body) for body in (
        {"maxClients": 0}, {"maxClients": 501}, {"maxClients": 2.5}, {"maxClients": "3"},
        {"healthCheckInterval": 1}, {"reconnectDelay": -1}, {"autoReconnect": "sim"})]

    assert [r.status for r in refused] == [422] * 7
    assert [r.json["error"]["details"]["field"] for r in refused] == [
        "maxClients", "maxClients", "maxClients", "maxClients", "healthCheckInterval", "reconnectDelay",
        "autoReconnect"]
    assert stack.api.call("GET", "/stats").json["maxClients"] == 10, "a refused limit changes nothing"


def test_lower_max_clients_refuses_new_numbers_but_removes_none(stack, sim):
    first = stack.api.call("POST", "/clients", {"clientId": "vendas"})
    changed = stack.api.call("PUT", "/preferences", {"maxClients": 1, "healthCheckInterval": 30,
                                                     "autoReconnect": False})
    second = stack.api.call("POST", "/clients", {"clientId": "suporte"})
    stats = stack.api.call("GET", "/stats").json
    clients = [c["clientId"] for c in stack.api.call("GET", "/clients/all").json]

    assert first.status in (200, 201) and changed.status == 200
    assert second.status == 409 and second.json["error"]["code"] == "pool_full"
    assert stats["maxClients"] == 1 and clients == ["vendas"], "the one already there stays"
    saved = PreferencesStore(stack.pool.settings.data_dir / "preferences.json").get()
    assert (saved["maxClients"], saved["healthCheckInterval"], saved["autoReconnect"]) == (1, 30, False)
    assert (stack.pool.supervisor.interval_s, stack.pool.supervisor.enabled) == (30, False), "applied at once"


def test_the_command_line_wins_over_the_preferences_for_that_run(tmp_path):
    (tmp_path / "preferences.json").write_text(json.dumps({"maxClients": 50, "reconnectDelay": 9}))

    saved = app.build_settings(app.parse_args(["--data", str(tmp_path)]))
    given = app.build_settings(app.parse_args(["--data", str(tmp_path), "--max-clients", "120",
                                               "--no-auto-reconnect"]))

    assert (saved.max_clients, saved.reconnect_delay_s, saved.auto_reconnect) == (50, 9.0, True)
    assert (given.max_clients, given.reconnect_delay_s, given.auto_reconnect) == (120, 9.0, False)
