"""GET /metrics: Prometheus text exposition format 0.0.4 (needs credentials like every other route).

    zapool_client_status{client_id,status}   1 for the number's status, 0 for the others (one-hot)
    zapool_messages_*{client_id}             from the message log; "(unassigned)": auto-routed, no number yet
    zapool_pool_messages{kind}               the same, all numbers together
    zapool_webhook_deliveries{webhook_id,status}  deliveries kept on disk (7 days), when webhooks are on
    zapool_report_*{client_id}               issue 18: the funnel's counters and the response-time histograms

In cluster mode (issue 20) every sample also carries `node="<this node>"`, and the per-number message families
count the numbers this node drives (the log is shared: each node would otherwise report every number's).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app

from ..status import ClientStatus
from .clients import svc

bp = Blueprint("metrics", __name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNASSIGNED = "(unassigned)"  # client ids are letters, digits, _ and -: this cannot be one
MESSAGE_KINDS = (("sent", "counter", "Outgoing messages WhatsApp accepted (sent, delivered or read)"),
                 ("received", "counter", "Incoming messages logged"),
                 ("failed", "counter", "Outgoing messages that will not be sent"),
                 ("pending", "gauge", "Outgoing messages queued or being sent"))


class Exposition:
    """Builds the text format: one HELP and TYPE line per family, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        """A metric family and its samples ({labels}, value)."""
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples]

    def one(self, name: str, kind: str, help_text: str, value: float) -> None:
        """A family with a single unlabelled sample."""
        self.family(name, kind, help_text, [({}, value)])

    def text(self) -> str:
        """The whole exposition, newline-terminated."""
        return "\n".join(self.lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    """{a="x",b="y"}, values escaped; nothing for no labels."""
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def _escape(value: str) -> str:
    """A label value as the text format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """An int as an int, a float as Python writes it."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(snapshot: dict[str, Any], open_streams: int) -> str:
    """The exposition of ZapPoolService.metrics()."""
    out = Exposition()
    clients, stats, messages = snapshot["clients"], snapshot["stats"], snapshot["messages"]
    out.one("zapool_uptime_seconds", "gauge", "Seconds since ZapPool started", round(snapshot["uptimeSeconds"], 3))
    out.family("zapool_client_status", "gauge", "1 for the status each number is in, 0 for the others",
               [({"client_id": cid, "status": s.value}, int(s.value == status))
                for cid, status in clients for s in ClientStatus])
    out.one("zapool_clients", "gauge", "Numbers in the pool", stats["currentClients"])
    out.one("zapool_clients_ready", "gauge", "Numbers connected and ready", stats["readyClients"])
    out.one("zapool_clients_max", "gauge", "Most numbers the pool takes", stats["maxClients"])
    out.one("zapool_clients_created_total", "counter", "Numbers added since start", stats["totalCreated"])
    out.one("zapool_client_connections_total", "counter", "Times a number became ready since start",
            stats["totalConnected"])
    out.one("zapool_client_disconnections_total", "counter", "Times a number disconnected since start",
            stats["totalDisconnected"])
    ids = list(dict.fromkeys([cid for cid, _ in clients] + sorted(messages)))
    for kind, metric_type, help_text in MESSAGE_KINDS:
        name = f"zapool_messages_{kind}_total" if metric_type == "counter" else f"zapool_messages_{kind}"
        out.family(name, metric_type, f"{help_text}, per number",
                   [({"client_id": cid or UNASSIGNED}, messages.get(cid, {}).get(kind, 0)) for cid in ids])
    out.family("zapool_pool_messages", "gauge", "Messages of all numbers together, by kind",
               [({"kind": kind}, sum(c.get(kind, 0) for c in messages.values())) for kind, _, _ in MESSAGE_KINDS])
    if snapshot["webhooks"] is not None:
        out.family("zapool_webhook_deliveries", "gauge", "Webhook deliveries kept, by webhook and status",
                   [({"webhook_id": hook, "status": status}, by_status.get(status, 0))
                    for hook, by_status in snapshot["webhooks"].items()
                    for status in ("pending", "delivering", "delivered", "failed")])
    out.one("zapool_event_streams", "gauge", "Open GET /events streams", open_streams)
    out.one("zapool_events_published_total", "counter", "Events published on the event bus since start",
            snapshot["events"]["published"])
    return out.text()


def render_reports(lifetime: dict[str, dict[str, Any]], bounds: tuple[int, ...]) -> str:
    """Issue 18's families: the funnel's counters and the (first) response-time histograms, per number, since
    the log began (ReportService.lifetime)."""
    out = Exposition()
    for step in ("sent", "delivered", "read", "replied"):
        out.family(f"zapool_report_funnel_{step}_total", "counter",
                   f"Outgoing messages {step} (the delivery funnel), per number",
                   [({"client_id": cid}, figures["funnel"][step] or 0) for cid, figures in lifetime.items()])
    for kind, name, what in (("all", "zapool_report_response_time_seconds", "Response times"),
                             ("first", "zapool_report_first_response_time_seconds", "First response times")):
        samples: list[tuple[dict[str, str], float]] = []
        for cid, figures in lifetime.items():
            counts, running = figures[kind]["buckets"], 0
            for bound, count in zip([*map(str, bounds), "+Inf"], counts):
                running += count
                samples.append(({"client_id": cid, "le": bound}, running))
            samples += [({"client_id": cid, "_": "sum"}, round(figures[kind]["sum"], 3)),
                        ({"client_id": cid, "_": "count"}, running)]
        out.lines += [f"# HELP {name} {what} (a customer's message to the business's reply), per number",
                      f"# TYPE {name} histogram"]
        for labels, value in samples:
            part = labels.pop("_", "bucket")
            out.lines.append(f"{name}_{part}{_labels(labels)} {_number(value)}")
    return out.text()


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?")


def with_node(text: str, node: str) -> str:
    """Every sample line of an exposition labelled `node="<node>"` first (HELP/TYPE lines as they are)."""
    label = f'node="{_escape(node)}"'

    def labelled(line: str) -> str:
        match = SAMPLE.match(line)
        if line.startswith("#") or match is None:
            return line
        name, brace = match.group(1), match.group(2)
        rest = line[match.end():]
        return f"{name}{{{label}," + rest if brace else f"{name}{{{label}}}" + rest

    return "\n".join(labelled(line) for line in text.split("\n"))


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics: numbers' status, message counts, webhook deliveries, uptime, reports (issue 18)."""
    streams = current_app.extensions["zapool.streams"]
    reports = svc().reports
    snapshot, cluster = svc().metrics(), svc().cluster
    lifetime, bounds = reports.lifetime()
    if cluster is not None:  # issue 20: this node's numbers (the log and its reports are shared), labelled
        own = {client_id for client_id, _ in snapshot["clients"]}
        snapshot["messages"] = {cid: c for cid, c in snapshot["messages"].items() if cid in own}
        lifetime = {cid: figures for cid, figures in lifetime.items() if cid in own}
    text = render(snapshot, streams.open_count) + render_reports(lifetime, bounds)
    return Response(with_node(text, cluster.node.name) if cluster is not None else text,
                    content_type=CONTENT_TYPE)
