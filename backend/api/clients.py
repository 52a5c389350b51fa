"""Numbers: the seed's GET /clients, /clients/all and /stats, and everything done to one number."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..errors import InvalidInput
from ..service import ZapPoolService
from .body import field, json_body

bp = Blueprint("clients", __name__)


def svc() -> ZapPoolService:
    """The service of this app."""
    return current_app.extensions["zapool.service"]


@bp.get("/clients")
def ready_clients() -> Response:
    """Ids of the connected numbers (the seed's shape: a list of strings)."""
    return jsonify(svc().list_ready_clients())


@bp.get("/clients/all")
def all_clients() -> Response:
    """Every number with status and metadata (the seed's shape)."""
    return jsonify(svc().list_all_clients_info())


@bp.get("/stats")
def stats() -> Response:
    """The seed's pool statistics."""
    return jsonify(svc().get_pool_stats())


@bp.post("/clients")
def create_client() -> tuple[Response, int]:
    """Add a number and start it; answers once its QR code shows."""
    body = json_body(required=False)
    info = svc().create_client(field(body, "clientId", str), field(body, "name", str),
                               field(body, "onDemand", bool, default=False))
    return jsonify(info), 201


@bp.patch("/clients/<client:client_id>")
def change_client(client_id: str) -> Response:
    """Change a number's mode: {"onDemand": true} sleeps between sends, false keeps it connected. The mode is
    the one thing changed here: another field is refused, not silently ignored."""
    body = json_body()
    unknown = sorted(set(body) - {"onDemand"})
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0][:64]!r}: only 'onDemand' can be changed",
                           details={"field": unknown[0][:64]})
    return jsonify(svc().set_client_mode(client_id, field(body, "onDemand", bool, required=True)))


@bp.get("/clients/<client:client_id>")
def get_client(client_id: str) -> Response:
    """One number."""
    return jsonify(svc().get_client(client_id))


@bp.delete("/clients/<client:client_id>")
def remove_client(client_id: str) -> tuple[str, int]:
    """The seed's "Remover": log out and delete."""
    svc().remove_client(client_id)
    return "", 204


@bp.post("/clients/<client:client_id>/disconnect")
def disconnect(client_id: str) -> Response:
    """Close the number's browser; its login stays."""
    return jsonify(svc().disconnect_client(client_id))


@bp.post("/clients/<client:client_id>/reconnect")
def reconnect(client_id: str) -> Response:
    """Start the number again."""
    return jsonify(svc().reconnect_client(client_id))


@bp.post("/clients/<client:client_id>/logout")
def logout(client_id: str) -> Response:
    """Unlink the number from the phone and delete its profile."""
    return jsonify(svc().logout_client(client_id))


@bp.get("/clients/<client:client_id>/qr")
def qr(client_id: str) -> Response:
    """The QR code to scan: PNG, ?format=svg, or JSON with Accept: application/json."""
    image, info = svc().current_qr(client_id)
    if "application/json" in request.headers.get("Accept", ""):
        return jsonify({"clientId": client_id, "code": image.code, "dataUrl": image.data_url,
                        "shownAt": info["metadata"]["lastQRAt"], "expiresAt": info["qrExpiresAt"]})
    if request.args.get("format") == "svg":
        return Response(image.svg, mimetype="image/svg+xml")
    return Response(image.png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.post("/clients/<client:client_id>/pairing-code")
def pairing_code(client_id: str) -> Response:
    """Link with a phone number: the 8-character code to type on the phone."""
    return jsonify(svc().request_pairing_code(client_id, field(json_body(), "phoneNumber", str, required=True)))


@bp.get("/clients/<client:client_id>/limits")
def get_limits(client_id: str) -> Response:
    """The number's pacing and caps, and today's count against them."""
    return jsonify(svc().get_client_limits(client_id))


@bp.put("/clients/<client:client_id>/limits")
def set_limits(client_id: str) -> Response:
    """Change the number's pacing and caps (fields left out are kept; null: the default)."""
    return jsonify(svc().set_client_limits(client_id, json_body()))


@bp.post("/sessions/restore")
def restore() -> Response:
    """Reconnect the saved numbers that were connected: restored and total."""
    return jsonify(svc().restore_persisted_sessions())


@bp.get("/clients/<client:client_id>/numbers/<number>")
def check_number(client_id: str, number: str) -> Response:
    """Is the number on WhatsApp, and under which id."""
    return jsonify(svc().check_number(client_id, number))

