"""Short-lived links to one message's media, for the desktop windows.

The desktop windows have no login cookie: they reach ZapPool through pywebview's bridge, which carries strings.
A preview used to cross it as base64, the whole file at once (a 100 MB video: a 133 MB string built, sent and
decoded before the first frame, and no seeking). Instead the bridge hands the window a link,
`/media-links/<token>`, which the page loads like any URL of this server (its CSP allows it; the player asks for
ranges). The token is signed with itsdangerous (the signing library Flask itself uses: timestamped, constant-time
checked) under a key made at start and never written down, names one number's one message, and expires.
"""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import NotFound

LINK_PREFIX = "/media-links/"
SALT = "zapool.media-link"


class MediaLinkInvalid(NotFound):
    """A media link that this ZapPool did not make, made by an earlier run, or past its age."""

    code = "media_link_invalid"


class MediaLinks:
    """Makes and reads the links; a new key per run, so a restart ends every link given out before."""

    def __init__(self, max_age_s: int = 3600, secret: bytes | None = None):
        self.max_age_s = max_age_s
        self._signer = URLSafeTimedSerializer(secret or secrets.token_bytes(32), salt=SALT)

    def make(self, client_id: str, message_id: str) -> str:
        """The path of a link to that message's media."""
        return LINK_PREFIX + str(self._signer.dumps([client_id, message_id]))

    def read(self, token: str) -> tuple[str, str]:
        """(client_id, message_id) of a link's token; MediaLinkInvalid when it is forged, old or malformed."""
        try:
            payload: Any = self._signer.loads(token[:1000], max_age=self.max_age_s)
        except SignatureExpired:
            raise MediaLinkInvalid("This media link has expired: open the chat again") from None
        except BadSignature:
            raise MediaLinkInvalid("No such media link") from None
        if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload)):
            raise MediaLinkInvalid("No such media link")
        return payload[0], payload[1]
