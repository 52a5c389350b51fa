"""ZapPool's entry point and composition root: arguments -> Settings -> engine runtime, stores, outbox, pool ->
services -> REST API (waitress) and webhooks -> windows. Settings, the pool and the service are built by
backend/assembly.py (the tests and benches build them there too), the API and the run loop here; each part is
handed its collaborators, constructors start nothing, and `Parts.start()`/`Parts.stop()` start and stop them in
order.

By default ZapPool opens its desktop windows (pywebview: Qt on Linux, Edge WebView2 on Windows, WebKit on macOS)
over the pages its own server serves, with the js_api bridge into the same service as the REST API; closing the
main window quits. With --headless, or by itself when this machine cannot show windows (Linux without a display,
pywebview or Qt missing: one log line says why), the browser, the terminal and the local REST API are the
interface. Either way ZapPool restores the numbers that were connected, starts the one named by --client-id if
any, prints QR codes to scan, serves the API and the app on 127.0.0.1:3000, and on Ctrl+C or SIGTERM closes
every browser in order and keeps the saved state.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import qrcode
from flask import Flask

from backend.api import create_app
from backend.api.server import ApiServer, add_options, app_config, is_loopback
from backend.assembly import (add_cluster_options, advertise_node, build_auth, build_cluster, build_pool,
                              build_service, build_settings, open_sealed, seal_as_requested, seal_command,
                              start_around_pool, stop_around_pool)
from backend.auth import cli as auth_cli
from backend.sealing import cli as sealing_cli
from backend.auth.service import AuthService
from backend.config import Settings
from backend.desktop.entry import install_desktop_entry
from backend.desktop.runner import (PROBE_QT_FLAG, desktop_available, exit_past_stranded_threads, probe_qt_here,
                                    run_windows)
from backend.desktop.unlock import UNLOCK_FLAG, run_unlock_window, window_or_terminal
from backend.desktop.windows import WindowManager
from backend.engine import EngineRuntime
from backend.errors import BrowserNotFound, ZapPoolError
from backend.events.hub import ClientEvent
from backend.host.instance import InstanceLock, ask_to_show
from backend.host.logs import printable, setup_logging
from backend.host.paths import keep_private
from backend.service import ZapPoolService
from backend.webhooks.service import WebhookService
from backend.whatsapp.pool import WhatsAppPool

if TYPE_CHECKING:
    from wasim import SimServer

log = logging.getLogger("zapool")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="zapool", description="ZapPool: many WhatsApp numbers, one desktop.")
    parser.add_argument("--data", type=Path,
                        help="data folder (default: dados/ beside app.py; the built app: the user's data folder)")
    parser.add_argument("--client-id", help="a number to connect at start if it is not (names its folder)")
    parser.add_argument("--headless", action="store_true",
                        help="no windows: serve the app at http://127.0.0.1:<port>/ for a browser (also the "
                             "default when this machine cannot show windows)")
    parser.add_argument("--whatsapp-url", help="WhatsApp Web address (default: the real site)")
    parser.add_argument("--simulator", action="store_true",
                        help="start the bundled WhatsApp Web simulator and use it: try ZapPool with no phone")
    parser.add_argument("--browser", help="path of the Chromium, Chrome or Edge executable to use")
    parser.add_argument("--no-restore", action="store_true", help="do not reconnect saved sessions at start")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the REST API listens on (beyond 127.0.0.1 only once the admin password "
                             "is changed and an API key exists)")
    parser.add_argument("--allow-private-webhooks", action="store_true",
                        help="with --host beyond loopback, still let webhooks target private, loopback and "
                             "link-local addresses (refused by default then: a LAN caller could reach them)")
    parser.add_argument("--allow-picture-origin", action="append", default=[], metavar="URL",
                        help="also fetch contacts' profile pictures from this origin, over http and on loopback "
                             "(a WhatsApp Web simulator's; --simulator allows its own)")
    parser.add_argument("--port", type=int, default=3000, help="port of the REST API (0: any free port)")
    add_options(parser)  # --allowed-host, --behind-https, --trusted-proxy
    parser.add_argument("--send-interval", type=float, default=Settings.send_interval_s, metavar="SECONDS",
                        help="pacing per number: at least SECONDS between two sends plus up to SECONDS at random "
                             "(default 1; 0: no pacing and no default caps, for tests and benchmarks on the "
                             "simulator). Each number's own pacing and caps: its settings, or PUT "
                             "/clients/{id}/limits")
    parser.add_argument("--max-clients", type=int, metavar="N",
                        help="most numbers at once, 1..500 (wins over the preferences for this run; default 10)")
    parser.add_argument("--health-check-interval", type=float, metavar="SECONDS",
                        help="seconds between health checks (wins over the preferences; default 60)")
    parser.add_argument("--reconnect-delay", type=float, metavar="SECONDS",
                        help="first reconnection delay (wins over the preferences; default 5)")
    parser.add_argument("--no-auto-reconnect", action="store_true",
                        help="do not reconnect dropped numbers by themselves (wins over the preferences)")
    parser.add_argument("--on-demand-idle", type=float, metavar="SECONDS",
                        help="an on-demand number's browser closes after SECONDS without a send (wins over the "
                             "preferences; default 300)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="how much goes to the log (the terminal and <data>/logs/zapool.log)")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="Linux: add ZapPool to the desktop's application menu, then exit")
    sealing_cli.add_arguments(parser)  # issue 19: --seal, --passphrase-fd
    add_cluster_options(parser)  # issue 20: --database, --node, --node-capacity, --lease-ttl
    return parser.parse_args(argv)


def print_qr(code: str) -> None:
    """Draw a login code in the terminal, for a phone to scan."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(code)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    print(out.getvalue(), flush=True)


def show(event: ClientEvent) -> None:
    """Tell the person at the terminal what happened; a contact's text escaped (no retitling the terminal)."""
    who = printable(event.client_id)
    if event.name == "qr":
        print(f"[{who}] Escaneie com o WhatsApp do celular (Aparelhos conectados > Conectar um aparelho):",
              flush=True)
        print_qr(event.data["code"])
    elif event.name == "ready":
        print(f"[{who}] Conectado ✓ Telefone: {printable(event.data['phoneNumber'])}", flush=True)
    elif event.name == "message":
        msg = event.data["message"]
        text = msg.get("body") or msg.get("caption") or f"[{msg['type']}]"
        print(f"[{who}] Mensagem de {printable(msg['from'])}: {printable(text)}", flush=True)
    elif event.name == "disconnected":
        print(f"[{who}] Desconectado ({printable(event.data['reason'])})", flush=True)


@dataclass
class Parts:
    """What serve() runs, built by assemble(); started and stopped in dependency order."""

    runtime: EngineRuntime
    pool: WhatsAppPool
    webhooks: WebhookService
    auth: AuthService
    service: ZapPoolService
    app: Flask
    api: ApiServer

    def start(self) -> None:
        """Webhook deliveries, then the pool and the capabilities around it (assembly.py's order), then the API."""
        self.webhooks.start()
        start_around_pool(self.service, self.pool)
        self.api.start()

    def stop(self) -> None:
        """The API first (no new work), then the capabilities and the numbers, the engine, the webhook deliveries."""
        self.api.stop()
        stop_around_pool(self.service, self.pool)
        self.runtime.stop()
        self.webhooks.stop()


def assemble(args: argparse.Namespace, settings: Settings) -> Parts:
    """Build every part and hand each its collaborators; only the API's port is taken (a busy one fails here,
    before anything starts)."""
    runtime = EngineRuntime(settings)
    cluster = build_cluster(settings)  # None unless --database
    pool = build_pool(settings, runtime, getattr(args, "sealer", None), cluster)
    pool.subscribe(show)
    webhooks = WebhookService.in_folder(settings.data_dir)
    auth = build_auth(settings.data_dir, cluster)  # in cluster mode the cluster's admin and API keys
    service = build_service(pool, auth, webhooks, cluster)
    app = create_app(service, auth, app_config(args))
    api = ApiServer(app, auth, args.host, args.port)
    advertise_node(cluster, getattr(args, "node_url", None), api.host, api.port)  # issue 20: calls forwarded here
    webhooks.guard_targets(not is_loopback(api.host) and not args.allow_private_webhooks)
    return Parts(runtime, pool, webhooks, auth, service, app, api)


def already_running(lock: InstanceLock) -> int:
    """Another ZapPool holds this data folder: ask it to come forward and leave everything alone. 0 when it
    answered (a second double-click shows the app that is open), 1 when it could not be reached."""
    running = ask_to_show(lock.data_dir)
    if running is None:
        print(f"Erro: outro ZapPool está usando estes dados ({lock.data_dir}) e não respondeu (ainda iniciando, "
              "ou travado): feche-o antes de abrir outro sobre os mesmos perfis do navegador.", file=sys.stderr,
              flush=True)
        return 1
    print(f"O ZapPool já está aberto com estes dados ({lock.data_dir}) em {running.url}/: não abro outro sobre os "
          "mesmos perfis do navegador.", flush=True)
    return 0


def check_browser(runtime: EngineRuntime) -> str | None:
    """Pick the browser now rather than at the first number, from the files on disk (Playwright's driver starts
    only when a number needs a browser): None, or what to install (also logged)."""
    try:
        runtime.ensure_browser()
    except BrowserNotFound as exc:
        log.error("[Engine] %s", exc.message)
        return exc.message
    return None


def start_simulator(settings: Settings) -> SimServer:
    """--simulator: the bundled WhatsApp Web simulator, and the settings pointed at it. Its devices and messages
    live in <data>/simulator/ and it keeps its address (the login in each browser profile belongs to one
    origin), so numbers linked in the demo stay linked across restarts, as they do on the real site."""
    from wasim import DEFAULT_PORT, SimServer, saved_port  # shipped with the project for demos and tests

    state = settings.data_dir / "simulator"
    wanted = saved_port(state) or DEFAULT_PORT
    try:
        simulator = SimServer(port=wanted, state_dir=state).start()
    except OSError:
        simulator = SimServer(port=0, state_dir=state).start()
        print(f"Simulador: a porta {wanted} está ocupada, uso a {simulator.port} desta vez. O login de cada número "
              f"fica no navegador por endereço: neste os números pedem um novo QR code; com a porta {wanted} livre, "
              "reinicie e eles voltam conectados.", flush=True)
    settings.whatsapp_url = simulator.url
    settings.picture_origins.append(simulator.url)  # its contacts' pictures are served by itself, over http
    print(f"Simulador do WhatsApp Web: {simulator.url}  — celular simulado: {simulator.url}_sim/phone", flush=True)
    return simulator


def start_number(pool: WhatsAppPool, client_id: str) -> None:
    """Make sure the number named on the command line is started (created the first time)."""
    if client_id not in {c.client_id for c in pool.clients()}:
        print("Inicializando...", flush=True)
        pool.create_and_initialize(client_id)
    elif pool.get(client_id).status.value in ("idle", "disconnected", "error"):
        print("Inicializando...", flush=True)
        pool.reconnect(client_id)


def start_pool(pool: WhatsAppPool, client_id: str | None) -> None:
    """Begin the health check, restore the saved numbers, start the one named on the command line (if any)."""
    pool.start_health_checks()
    if pool.settings.restore_on_start:
        pool.restore_persisted_sessions()
    if client_id is not None:
        start_number(pool, client_id)


def run(pool: WhatsAppPool, client_id: str | None, received: list[int]) -> None:
    """Headless: start the pool, then wait for a signal."""
    problem = check_browser(pool.runtime)
    if problem:
        print(f"Erro: {problem}", file=sys.stderr, flush=True)
    start_pool(pool, client_id)
    while not received:
        time.sleep(0.2)


def start_in_background(pool: WhatsAppPool, client_id: str | None) -> None:
    """Desktop: start the pool beside the windows, so they show at once; a failure is logged, the app stays."""
    def starting() -> None:
        """The startup thread's work."""
        try:
            start_pool(pool, client_id)
        except ZapPoolError as exc:
            log.error("[Desktop] início do pool falhou: %s", exc.message)

    threading.Thread(target=starting, name="startup", daemon=True).start()


def run_desktop(parts: Parts, client_id: str | None, received: list[int]) -> None:
    """Desktop: the windows on this thread until the main one is closed or a signal arrives."""
    pool, app = parts.pool, parts.app
    start_in_background(pool, client_id)
    if received:
        return

    def started(windows: WindowManager) -> None:
        """Once the windows are up: a second launch raises them; a missing browser is said in a dialog."""
        app.extensions["zapool.on_show"].append(windows.focus_main)
        problem = check_browser(pool.runtime)
        main = windows.window("main")
        if problem and main is not None:
            main.create_confirmation_dialog("ZapPool: navegador não encontrado", problem)

    try:
        run_windows(parts.service, parts.auth, parts.api.url, on_started=started)
    except Exception:  # noqa: BLE001 - the GUI failed to start: the pool and the API can still serve
        log.exception("[Desktop] as janelas falharam; seguindo sem janelas em %s/ (Ctrl+C encerra)", parts.api.url)
        while not received:
            time.sleep(0.2)


def key_command() -> str:
    """How this ZapPool's API keys are made from a terminal."""
    return f"{sys.executable} auth" if getattr(sys, "frozen", False) else "python -m backend.auth"


def want_windows(args: argparse.Namespace) -> bool:
    """Desktop mode unless --headless or this machine cannot show windows (said in one log line)."""
    if args.headless:
        return False
    available, why = desktop_available()
    if available:
        allow_webengine_as_root()
    else:
        log.info("[Desktop] sem janelas: %s; modo --headless", why)
    return available


def allow_webengine_as_root() -> None:
    """QtWebEngine (Chromium) refuses to start as root with its sandbox on: turn it off only then."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "QTWEBENGINE_CHROMIUM_FLAGS" not in os.environ:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"


def main(argv: list[str] | None = None) -> int:
    """Run until the main window is closed, Ctrl+C or SIGTERM."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["auth"]:  # the built app has no `python -m backend.auth`: the same commands, here
        return auth_cli.main(argv[1:], prog="ZapPool auth")
    if argv[:1] == ["seal"]:  # issue 19: seal the data folder, change its passphrase, rotate its key
        return seal_command(argv[1:])
    if argv[:1] == [PROBE_QT_FLAG]:  # the built app probing Qt in a child of itself (runner.desktop_available)
        return probe_qt_here()
    if argv[:1] == [UNLOCK_FLAG] and len(argv) == 2:  # issue 19: the passphrase window, a child of ZapPool
        allow_webengine_as_root()
        return run_unlock_window(lambda passphrase: sealing_cli.passphrase_error(Path(argv[1]), passphrase))
    args = parse_args(argv)
    if args.install_desktop_entry:
        entry, _icon = install_desktop_entry()
        print(f"ZapPool adicionado ao menu de aplicativos: {entry}")
        return 0
    settings = build_settings(args)
    ask = window_or_terminal(settings.data_dir, lambda: want_windows(args), sealing_cli.ask)  # desktop: a window
    args.sealer = open_sealed(args, settings.data_dir, ask)  # issue 19: a wrong passphrase stops here, nothing written
    keep_private(settings.data_dir)  # before anything writes there: the umask, and what an older run left
    lock = InstanceLock(settings.data_dir)
    if not lock.acquire():
        return already_running(lock)
    try:
        seal_as_requested(args, settings.data_dir)  # issue 19: the settings' "seal at the next start"
        return serve(args, settings, lock)
    finally:
        lock.release()


def serve(args: argparse.Namespace, settings: Settings, lock: InstanceLock) -> int:
    """Everything from the log file to the clean stop, on a data folder this process holds."""
    log_file = setup_logging(settings.data_dir, args.log_level)
    log.info("[ZapPool] dados em %s; log em %s", settings.data_dir, log_file)
    if getattr(args, "seal_note", None):  # issue 19: a new packaged folder with no keyring stays plain, said once
        log.warning("[Sealing] %s", args.seal_note)
    desktop = want_windows(args)
    # The handler only records the signal: taking a lock inside a signal handler (Event.set) can deadlock.
    received: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    simulator = start_simulator(settings) if args.simulator else None
    try:
        return run_parts(args, settings, lock, desktop, received)
    except ZapPoolError as exc:  # could not start: one readable line, no traceback
        print(f"Erro: {exc.message}", file=sys.stderr, flush=True)
        log.error("[ZapPool] não iniciou: %s", exc.message)
        return 1
    finally:
        if simulator is not None:
            simulator.stop()


def run_parts(args: argparse.Namespace, settings: Settings, lock: InstanceLock, desktop: bool,
              received: list[int]) -> int:
    """Build, start, run until asked to stop, stop in order."""
    parts = assemble(args, settings)
    if args.browser:  # named on the command line: a wrong path is a mistake to say now, not after starting
        problem = check_browser(parts.runtime)
        if problem:
            parts.runtime.stop()
            raise BrowserNotFound(problem)
    parts.app.extensions["zapool.instance"] = lock
    parts.app.extensions["zapool.on_show"] = [lambda: log.info("[ZapPool] outra inicialização pediu para mostrar "
                                                               "o ZapPool: ele está em %s/", parts.api.url)]
    parts.start()
    lock.publish(parts.api.url)
    print(f"API REST: {parts.api.url}  (chave: {key_command()} keys create NOME)", flush=True)
    print(f"Interface: {parts.api.url}/  ({'janelas do ZapPool' if desktop else 'no navegador'}; primeiro acesso: "
          f"admin / admin, pelo link deste terminal: {parts.api.owner_link} )", flush=True)
    code = 0
    try:
        if desktop:
            run_desktop(parts, args.client_id, received)
        else:
            run(parts.pool, args.client_id, received)
    except ZapPoolError as exc:
        print(f"Erro: {exc.message}", file=sys.stderr)
        code = 1
    finally:
        print("Encerrando...", flush=True)
        parts.stop()
        print("Encerrado.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(exit_past_stranded_threads(main()))
