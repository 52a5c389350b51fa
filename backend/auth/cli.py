"""API keys and the admin password from the command line, for machines without the desktop app.

    python -m backend.auth [--data DIR] keys create NAME [--rate N]
    python -m backend.auth [--data DIR] keys rate ID N|default
    python -m backend.auth [--data DIR] keys list
    python -m backend.auth [--data DIR] keys revoke ID
    python -m backend.auth [--data DIR] password [--reset]
    python -m backend.auth --database postgresql://... keys ...     (a cluster's keys and admin: issue 20)

The built app takes the same commands after `auth`: `ZapPool auth keys create NAME`.

With `--database`, the commands act on the cluster's records in PostgreSQL (store/pg_accounts.py), which every
node reads at least once a second: a key made here works on every node, one revoked here stops on all, without
restarting any. (Without it they act on one data folder's auth.json, which a node merges into the cluster only
when it starts.)

The terminal is this tool's interface, so it writes to stdout/stderr (streams passed in, for tests) rather than
to the log; the log (stderr) still carries warnings such as a damaged auth.json being set aside.
It may run while ZapPool runs: ZapPool notices the changed auth.json within a second, so a revoked key stops
working then (a password changed here does not end sessions already open in the app).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import InvalidInput, ZapPoolError
from ..host.paths import default_data_dir
from ..store.accounts import AccountsStore
from .service import AUTH_FILE, AuthService

Prompt = Callable[[str], str]


def parse_args(argv: list[str] | None, prog: str = "python -m backend.auth") -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog=prog, description="Manage ZapPool's API keys and admin password.")
    parser.add_argument("--data", type=Path, default=default_data_dir(),
                        help="data folder holding auth.json (default: ZapPool's, as the app uses)")
    parser.add_argument("--database", metavar="URL",
                        help="a cluster's PostgreSQL URL (postgresql://...): act on the cluster's keys and admin, "
                             "as every node sees them (this folder's auth.json is merged in first, as a node's is)")
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="create, list or revoke API keys").add_subparsers(
        dest="action", required=True)
    create = keys.add_parser("create", help="create a key; it is shown once")
    create.add_argument("name")
    create.add_argument("--rate", type=int, metavar="N",
                        help="requests a minute the key may make (default: the API's, 600)")
    rate = keys.add_parser("rate", help="set how many requests a minute a key may make")
    rate.add_argument("id")
    rate.add_argument("rate", metavar="N|default")
    keys.add_parser("list", help="list keys (never the keys themselves)")
    keys.add_parser("revoke", help="revoke a key at once").add_argument("id")
    password = commands.add_parser("password", help="change the admin password")
    password.add_argument("--reset", action="store_true",
                          help="set a new password without the current one (for whoever owns the data folder)")
    return parser.parse_args(argv)


def create_key(auth: AuthService, name: str, out: TextIO, rate: int | None = None) -> None:
    """Create a key and show it, this once."""
    key_id, plaintext = auth.create_api_key(name, rate)
    limit = f", {rate} requests a minute" if rate else ""
    out.write(f"API key created: id {key_id}, name {name.strip()!r}{limit}\n\n    {plaintext}\n\n"
              "Copy it now: it will NOT be shown again (ZapPool keeps only a hash of it).\n"
              "Send it as the header `X-Api-Key: <key>` or `Authorization: Bearer <key>`.\n")


def list_keys(auth: AuthService, out: TextIO) -> None:
    """One line per key: id, prefix, status, dates, name."""
    keys = auth.list_api_keys()
    if not keys:
        out.write("No API keys. Create one with: python -m backend.auth keys create NAME\n")
        return
    out.write(f"{'ID':<14}{'PREFIX':<14}{'STATUS':<9}{'CREATED':<26}{'LAST USED':<26}NAME\n")
    for key in keys:
        status = "active" if key.active else "revoked"
        out.write(f"{key.id:<14}{key.prefix + '…':<14}{status:<9}{key.created_at:<26}"
                  f"{key.last_used_at or '-':<26}{key.name}\n")


def set_rate(auth: AuthService, key_id: str, raw: str, out: TextIO) -> None:
    """Set a key's requests a minute ("default": the API's); a running ZapPool uses it within a second."""
    if raw != "default" and not raw.isdigit():
        raise InvalidInput("The rate is a whole number of requests a minute, or 'default'")
    info = auth.set_api_key_rate(key_id, None if raw == "default" else int(raw))
    out.write(f"API key {info.id} ({info.name}): {info.rate_per_minute or 'the default number of'} requests a "
              "minute.\n")


def change_password(auth: AuthService, reset: bool, out: TextIO, prompt: Prompt) -> None:
    """Ask for the passwords without echoing them, then change (or reset) the admin password."""
    old = None if reset else prompt("Current admin password: ")
    new = prompt("New admin password (at least 8 characters): ")
    if prompt("Repeat the new password: ") != new:
        raise InvalidInput("The two new passwords differ; nothing changed", code="password_mismatch")
    if old is None:
        auth.reset_password(new)
    else:
        auth.change_password(old, new, username="admin")
    out.write("Admin password changed.\n")


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
         prompt: Prompt = getpass.getpass, prog: str = "python -m backend.auth") -> int:
    """Run one command; 0 on success, 1 when ZapPool refused it (the reason goes to `err`)."""
    args = parse_args(argv, prog)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    database = None
    try:
        if args.database:
            database, auth = _cluster_auth(args.database, args.data)
        else:
            auth = AuthService.in_folder(args.data)
        if args.command == "password":
            change_password(auth, args.reset, out, prompt)
        elif args.action == "create":
            create_key(auth, args.name, out, args.rate)
        elif args.action == "rate":
            set_rate(auth, args.id, args.rate, out)
        elif args.action == "list":
            list_keys(auth, out)
        else:
            info = auth.revoke_api_key(args.id)
            out.write(f"API key {info.id} ({info.name}) revoked: it stops working now.\n")
    except ZapPoolError as exc:
        err.write(f"Error: {exc.message}\n")
        if exc.code == "password_change_required":
            err.write("Run first: python -m backend.auth password\n")
        return 1
    finally:
        if database is not None:
            database.close()
    return 0


def _cluster_auth(url: str, data: Path) -> tuple[Any, AuthService]:
    """The cluster's database, opened, and the AuthService over its accounts (this folder's merged in);
    invalid_input for a URL that is not PostgreSQL's or a build without psycopg (the desktop app's: cluster
    nodes run from source), Unavailable when the database does not answer."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput("--database takes a PostgreSQL URL (postgresql://...)")
    try:  # psycopg only when asked for
        from ..store.pg_accounts import PgAccountsStore
        from ..store.pg_db import PgDatabase
    except ImportError:
        raise InvalidInput("This build of ZapPool has no PostgreSQL driver: run `python -m backend.auth "
                           "--database ...` from an installation from source, as a cluster node runs") from None
    database = PgDatabase(url).open(timeout_s=10)
    return database, AuthService(PgAccountsStore(database, AccountsStore(data / AUTH_FILE)))

