"""A throw-away PostgreSQL server in a temporary folder on a free port, for the tests and the benchmarks.

Debian's `postgresql` package (scripts/setup.sh installs it for the test suite only) gives initdb and pg_ctl;
this starts a private cluster with them, as pytest-postgresql's executor does. Not that library itself: its
executor runs pg_ctl as the current user, and initdb and pg_ctl refuse to run as root, which CI is
(pytest-postgresql issues #341 and #455, closed with no option for another user). Here, as root, both run as
Debian's `postgres` user through `runuser`, in a folder made theirs; as anyone else, as that user.

The server trusts local connections (a loopback port and a socket in its own folder, nobody else's) and skips
fsync: it holds test data only, and a test that restarts it stops it cleanly first. A benchmark that compares
it with SQLite at synchronous=FULL asks for `durable=True`: PostgreSQL's own defaults (fsync, synchronous
commit, full page writes).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"  # Debian's package creates it


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: Debian keeps them under /usr/lib/postgresql/<version>/bin, off
    PATH; the newest version there, else the PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise RuntimeError("PostgreSQL's initdb was not found: install Debian's `postgresql` "
                           "(bash scripts/test.sh does)")
    return Path(on_path).resolve().parent


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One private PostgreSQL cluster: `start()`, `url(db)`, `create_database()`, `stop()`, `restart()`."""

    def __init__(self, *, port: int | None = None, durable: bool = False):
        self.durable = durable
        self.bindir = find_bindir()
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="zapool-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as_root = os.geteuid() == 0
        self._databases = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs as the server's user; raises with its output when it fails."""
        argv = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log_tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                               f"{log_tail}")
        return done

    def start(self) -> PostgresServer:
        """initdb (the first time) and start the server; returns self once it accepts connections."""
        if self._as_root:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--no-sync", "--no-locale")
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: ends the sessions; immediate: as a crash would)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port and data."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for a database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q", "-c",
                  f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def close(self) -> None:
        """Stop the server if it runs, and remove its folder."""
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)
