"""Contacts' profile pictures through ZapPool (service.contacts.pictures): `GET
/clients/{id}/contacts/{contactId}/picture` and the desktop windows' signed links.

A window never loads WhatsApp's picture URL itself: the page would fetch a third-party host (telling it who looks
at whom, from which machine), and the URL expires within days. ZapPool asks the number's page for the URL
(`WPP.contact.getProfilePictureUrl`), fetches it under picture_fetch.py's rules, and keeps the result on disk
(store/pictures.py): a picture IMAGE_S, a contact without one (or hiding it) MISS_S, so opening a chat list of
500 chats asks WhatsApp once a day per contact, not 500 times per open. A refused or failed fetch is not kept:
the next look tries again. Two requests for the same contact at once fetch once. A group's picture (its icon) is
served the same way, by the group's id; when a member changes it (WhatsApp's `gp2` notice `picture`, a
`group_updated` event with `picture: true`) the kept copy is dropped, so the next look fetches the new one.

The desktop windows have no login cookie: the bridge's `contact_picture_link` gives a window one signed link per
number, `/picture-links/<token>/<contactId>`, which its `<img>` elements load (itsdangerous, as media/links.py:
a key made at start, never written down; the token names the number and expires).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import NotFound, StorageFull
from ..events.hub import ClientEvent
from ..store.pictures import PictureFiles
from ..whatsapp.pool import WhatsAppPool
from .ids import picture_id
from .picture_fetch import PictureFetcher, sniff

log = logging.getLogger(__name__)
IMAGE_S = 24 * 3600.0  # a picture changes rarely; WhatsApp's own URL for it lives some days
MISS_S = 3600.0  # a contact may set a picture (or show it to us) any time: ask again within the hour
SWEEP_S = 3600.0  # how often expired files are deleted
LINK_PREFIX = "/picture-links/"
LINK_AGE_S = 12 * 3600
SALT = "zapool.picture-link"


class PictureNotFound(NotFound):
    """The contact has no profile picture, or its privacy settings hide it from this number."""

    code = "picture_not_found"


class PictureLinkInvalid(NotFound):
    """A picture link this ZapPool did not make, made by an earlier run, or past its age."""

    code = "picture_link_invalid"


@dataclass(frozen=True)
class Picture:
    """A picture ready to serve: its bytes and the type read from them."""

    data: bytes
    mimetype: str


def build_pictures(pool: WhatsAppPool) -> ProfilePictures:
    """The proxy over <data>/pictures/, allowing the extra origins of the settings (the simulator's)."""
    settings = pool.settings
    files = PictureFiles(settings.data_dir / "pictures", sealer=pool.outbox.media.sealer)  # sealed with media
    return ProfilePictures(pool, files,
                           PictureFetcher(settings.picture_origins))


class ProfilePictures:
    """The proxy: cache first, then the number's page for the URL, then the checked fetch."""

    def __init__(self, pool: WhatsAppPool, files: PictureFiles, fetcher: PictureFetcher, *,
                 image_s: float = IMAGE_S, miss_s: float = MISS_S, clock: Callable[[], float] = time.time):
        self.pool, self.files, self.fetcher = pool, files, fetcher
        self.image_s, self.miss_s = image_s, miss_s
        self._clock = clock
        self._lock = threading.Lock()
        self._fetching: dict[tuple[str, str], threading.Lock] = {}
        self._swept = 0.0
        self._signer = URLSafeTimedSerializer(secrets.token_bytes(32), salt=SALT)
        pool.subscribe(self._on_event, {"client_removed", "group_updated"})

    def open(self, client_id: str, raw_contact: str) -> Picture:
        """A contact's picture; PictureNotFound when it has none or hides it, PictureRefused when WhatsApp's URL
        or answer broke a rule, NotFound for an unknown number, invalid_input for a bad contact or group id."""
        cid = picture_id(raw_contact)
        self.pool.get(client_id)
        kept = self._kept(client_id, cid)
        if kept is not None:
            return kept
        with self._lock:
            fetching = self._fetching.setdefault((client_id, cid), threading.Lock())
        try:
            with fetching:  # a second request for this contact waits for the first, then finds it kept
                return self._kept(client_id, cid) or self._fetch(client_id, cid)
        finally:
            with self._lock:
                self._fetching.pop((client_id, cid), None)

    def _kept(self, client_id: str, cid: str) -> Picture | None:
        """The cached picture, None when nothing fresh is kept; PictureNotFound for a fresh miss."""
        kept = self.files.read(client_id, cid, self.image_s, self.miss_s)
        if kept is None:
            return None
        if kept.data is None:
            raise PictureNotFound(f"{cid} has no profile picture this number may see", details={"contactId": cid})
        return Picture(kept.data, _sniffed(kept.data))

    def _fetch(self, client_id: str, cid: str) -> Picture:
        """Ask the page for the URL, fetch it under the rules, keep the answer (a miss too)."""
        url = self.pool.get(client_id).wpp_call("contact.getProfilePictureUrl", cid)
        self._sweep()
        if not isinstance(url, str) or not url:
            self._keep(client_id, cid, None)
            raise PictureNotFound(f"{cid} has no profile picture this number may see", details={"contactId": cid})
        fetched = self.fetcher.fetch(url)
        self._keep(client_id, cid, fetched.data)
        log.debug("[Pool] foto de perfil de %s em %s guardada (%d bytes)", cid, client_id, len(fetched.data))
        return Picture(fetched.data, fetched.mimetype)

    def _keep(self, client_id: str, cid: str, data: bytes | None) -> None:
        """Keep the answer; on a full disk the picture is still served, only not kept (asked again next time)."""
        try:
            self.files.keep(client_id, cid, data)
        except StorageFull:
            log.warning("[Pool] disco cheio: foto de perfil de %s não guardada no cache", cid)

    def _sweep(self) -> None:
        """Delete expired files now and then (at most once per SWEEP_S)."""
        now = self._clock()
        if now - self._swept >= SWEEP_S:
            self._swept = now
            self.files.sweep(max(self.image_s, self.miss_s))

    def _on_event(self, event: ClientEvent) -> None:
        """A removed number's pictures go with it; a group's changed picture is fetched again at the next look."""
        if event.name == "client_removed":
            self.files.forget(event.client_id)
        elif event.data.get("picture") and isinstance(event.data.get("groupId"), str):
            self.files.drop(event.client_id, event.data["groupId"])

    # -- the desktop windows' links -----------------------------------------------------------------------

    def link(self, client_id: str) -> dict[str, Any]:
        """{url, maxAgeS}: the base of a number's picture links; a window appends a contact id."""
        self.pool.get(client_id)
        return {"url": f"{LINK_PREFIX}{self._signer.dumps(client_id)}/", "maxAgeS": LINK_AGE_S}

    def open_link(self, token: str, raw_contact: str) -> Picture:
        """The picture a link names; PictureLinkInvalid when the token is forged, old or malformed."""
        try:
            client_id: Any = self._signer.loads(token[:500], max_age=LINK_AGE_S)
        except SignatureExpired:
            raise PictureLinkInvalid("This picture link has expired: open the window again") from None
        except BadSignature:
            raise PictureLinkInvalid("No such picture link") from None
        if not isinstance(client_id, str):
            raise PictureLinkInvalid("No such picture link")
        return self.open(client_id, raw_contact)


def _sniffed(data: bytes) -> str:
    """The type of bytes already checked when they were kept."""
    return sniff(data) or "application/octet-stream"
