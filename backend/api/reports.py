"""Reports (issue 18): GET /reports/summary, /response-times, /funnel, /volume, /heatmap over service.reports,
as JSON or, with ?format=csv, the report's table as a CSV download; GET and PUT /reports/settings. The query
(clientId, from, to, tz, groups, businessHours, campaignId) is read by ReportService, the same for the windows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import InvalidInput
from .body import json_body
from .clients import svc

bp = Blueprint("reports", __name__)
QUERY = {"clientId", "from", "to", "tz", "groups", "businessHours", "campaignId", "format"}


def _params() -> dict[str, Any]:
    """The query as lists of values; an unknown name is refused (a typo must not silently widen a report)."""
    params = request.args.to_dict(flat=False)
    unknown = sorted(set(params) - QUERY)
    if unknown:
        raise InvalidInput(f"Unknown query parameter '{unknown[0]}'", details={"field": unknown[0]})
    return params


def _report(name: str) -> Response:
    """One report as JSON, or its table as CSV (?format=csv)."""
    params = _params()
    fmt = (params.pop("format", None) or ["json"])[0]
    if fmt not in ("json", "csv"):
        raise InvalidInput("'format' is json or csv", details={"field": "format"})
    reports = svc().reports
    if fmt == "json":
        return jsonify(getattr(reports, name.replace("-", "_"))(params))
    return Response(reports.csv(name, params), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="zapool-{name}.csv"'})


@bp.get("/reports/summary")
def summary() -> Response:
    """The headline figures and the previous period's."""
    return _report("summary")


@bp.get("/reports/response-times")
def response_times() -> Response:
    """First response and response times: median, p90, mean, distribution."""
    return _report("response-times")


@bp.get("/reports/funnel")
def funnel() -> Response:
    """sent -> delivered -> read -> replied per number; failures by reason."""
    return _report("funnel")


@bp.get("/reports/volume")
def volume() -> Response:
    """Incoming and outgoing per number per local day."""
    return _report("volume")


@bp.get("/reports/heatmap")
def heatmap() -> Response:
    """Incoming per local weekday and hour."""
    return _report("heatmap")


@bp.get("/reports/settings")
def get_settings() -> Response:
    """The conversation gap, the response target and business hours."""
    return jsonify(svc().reports.settings())


@bp.put("/reports/settings")
def set_settings() -> Response:
    """Change some report settings."""
    return jsonify(svc().reports.set_settings(json_body()))
