"""Settings: every knob ZapPool has, with the seed's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WHATSAPP_WEB_URL = "https://web.whatsapp.com/"
# The desktop windows' user agent: the server gives their pages the one CSP relaxation pywebview needs.
DESKTOP_USER_AGENT = "Mozilla/5.0 (compatible; ZapPoolDesktop/1.0; pywebview)"
DESKTOP_AGENT_MARK = "ZapPoolDesktop/"


@dataclass
class Settings:
    """Configuration for one ZapPool process; defaults follow the seed's WhatsAppPoolManager."""

    data_dir: Path = PROJECT_ROOT / "dados"
    # The site the engine opens: the real WhatsApp Web, or the simulator in tests and demos.
    whatsapp_url: str = WHATSAPP_WEB_URL
    # Browser choice: an executable path, or a Playwright channel ("msedge", "chrome", "chromium").
    browser_path: str | None = None
    browser_channel: str | None = None
    headless: bool = True
    # None: a normal desktop user agent for the browser found (headless Chromium's own is refused).
    user_agent: str | None = None
    # How long WhatsApp Web may take to load and WA-JS to become ready (the real site can be slow).
    load_timeout_s: float = 90.0
    # Every other call into the page (send, look up, codes).
    call_timeout_s: float = 60.0
    max_clients: int = 10
    auto_reconnect: bool = True
    reconnect_delay_s: float = 5.0
    reconnect_cap_s: float = 300.0  # the delay doubles after each failed attempt, up to this
    health_check_interval_s: float = 60.0
    health_check_timeout_s: float = 10.0  # a page that does not answer within this is half-dead
    # An on-demand number (whatsapp/on_demand.py) closes its browser after this long without a send. 5 min:
    # an idle ready number costs ~0.24% of a core (~0.7 CPU-s per 5 min) and a start ~0.7 CPU-s, so sleeping
    # sooner costs more than it saves when messages come in bursts; the acks of a burst also arrive meanwhile.
    on_demand_idle_s: float = 300.0
    restore_on_start: bool = True
    # Pacing per number: at least this long between two sends, plus up to send_jitter_s at random, so a
    # burst does not look like a bot to WhatsApp. 0 and 0 for tests and benchmarks.
    send_interval_s: float = 1.0
    send_jitter_s: float = 1.0
    # Caps per number (0: none), each settable per number (PUT /clients/{id}/limits). A message over a cap
    # waits for the next clock hour / local day; it is never failed. 250 a day is the messaging limit Meta gives
    # a new, unverified business number on its own WhatsApp Business Platform (a tier 1 number gets 1,000): a
    # number driven through WhatsApp Web should not do more than the official API lets a newcomer do. 50 an
    # hour spreads that day over at least five hours instead of one burst. With no pacing at all
    # (send_interval_s 0: tests and benchmarks on the simulator) the default caps are off too (app.build_pool).
    send_hourly_cap: int = 50
    send_daily_cap: int = 250
    # A send that fails for a passing reason (timeout, browser gone) is tried again after a delay that
    # doubles from send_retry_base_s up to send_retry_cap_s; after send_max_attempts tries it is failed.
    send_max_attempts: int = 5
    send_retry_base_s: float = 2.0
    send_retry_cap_s: float = 60.0
    # Media (issue 16 §2). Incoming media is downloaded on arrival up to media_max_mb a file (WhatsApp's own
    # limit is 16 MB for photos and videos, 2 GB for documents: a bigger one stays on WhatsApp, shown as too
    # large); a failed download is tried again after a delay doubling from media_retry_base_s to
    # media_retry_cap_s, media_max_attempts times (WhatsApp's servers drop media after some weeks: then it
    # stays "not available"). Media in and out is kept media_keep_days, and at most media_keep_mb in all
    # (the oldest files go first); media_keep_days 0 keeps sent media only while its message waits.
    media_max_mb: float = 100.0
    media_retry_base_s: float = 30.0
    media_retry_cap_s: float = 3600.0
    media_max_attempts: int = 8
    media_keep_days: float = 90.0
    media_keep_mb: float = 5120.0
    # The REST API reads numbers written without a country code as numbers of this region (ISO 3166 code;
    # None: a country code is required). The Python API (WhatsAppClient) always requires one.
    default_region: str | None = "BR"
    extra_browser_args: list[str] = field(default_factory=list)
    # Contacts' profile pictures (backend/contacts/picture_fetch.py) are fetched over https from WhatsApp's
    # picture host only. Origins listed here ("http://127.0.0.1:8900") are allowed besides, over http and on
    # loopback: the simulator's, for the tests and the demo mode (app.py --simulator). Empty: none.
    picture_origins: list[str] = field(default_factory=list)
    # Sealed data folder (issue 19): a ready number's profile is snapshotted, sealed, snapshot_first_s after its
    # login, then every snapshot_interval_s (and when its browser closes); a crash loses at most that much.
    snapshot_first_s: float = 10.0
    snapshot_interval_s: float = 180.0
    # Cluster mode (issue 20, docs/CLUSTER.md): with a PostgreSQL URL this process is one node, named node_name
    # (None: the machine's host name), of a cluster sharing that database; it drives at most node_capacity
    # numbers, each under a lease that outlives its last heartbeat by lease_ttl_s. None: the embedded stores.
    database_url: str | None = None
    node_name: str | None = None
    node_capacity: int = 10
    lease_ttl_s: float = 15.0

    @property
    def persistence_path(self) -> Path:
        """The seed's dados/whatsapp-sessions.json."""
        return self.data_dir / "whatsapp-sessions.json"

    @property
    def sessions_dir(self) -> Path:
        """Where each client's browser profile lives (the seed's `.wwebjs_auth`)."""
        return self.data_dir / "sessions"
