"""Scheduled messages (issue 17 §3): /schedules and /schedules/{id}, over service.schedules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.routing import BaseConverter

from ..service import ZapPoolService
from .body import json_body, query_limit


class ScheduleIdConverter(BaseConverter):
    """`<schedule:schedule_id>`: what ScheduleService makes ("sch_" + 8 random bytes in hex); anything else is a
    plain 404."""

    regex = r"sch_[0-9a-f]{16}"


bp = Blueprint("schedules", __name__)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("schedule", ScheduleIdConverter))


def schedules() -> Any:
    """The schedules capability of this app's service (backend/schedules/)."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    return service.schedules


@bp.post("/schedules")
def create_schedule() -> tuple[Response, int]:
    """A new schedule: 201 with its next occurrence."""
    return jsonify(schedules().create(json_body())), 201


@bp.get("/schedules")
def list_schedules() -> Response:
    """Schedules in the order they were made; ?clientId=, ?status=, cursor pagination."""
    args = request.args
    return jsonify(schedules().list(args.get("clientId"), args.get("status"), args.get("cursor"), query_limit()))


@bp.get("/schedules/<schedule:schedule_id>")
def get_schedule(schedule_id: str) -> Response:
    """One schedule with its latest runs."""
    return jsonify(schedules().get(schedule_id))


@bp.patch("/schedules/<schedule:schedule_id>")
def change_schedule(schedule_id: str) -> Response:
    """Change the fields given, while it is active (409 once finished or cancelled)."""
    return jsonify(schedules().update(schedule_id, json_body()))


@bp.delete("/schedules/<schedule:schedule_id>")
def cancel_schedule(schedule_id: str) -> Response:
    """Cancel it: nothing more is sent; it stays listed as cancelled."""
    return jsonify(schedules().cancel(schedule_id))
