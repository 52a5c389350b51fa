"""ZapPool's entry point: arguments -> Settings -> engine -> client.

This first version links one WhatsApp number from the terminal: it prints the QR code, logs the status
and incoming messages, and closes the browser cleanly on Ctrl+C. The pool, the REST API and the desktop
windows build on the same pieces.
"""

from __future__ import annotations

import argparse
import io
import logging
import signal
import sys
import time
from pathlib import Path

import qrcode

from backend.client import ClientEvent, WhatsAppClient
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.errors import ZapPoolError

log = logging.getLogger("zapool")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="zapool", description="ZapPool: many WhatsApp numbers, one desktop.")
    parser.add_argument("--data", type=Path, help="data folder (default: dados/ beside app.py)")
    parser.add_argument("--client-id", default="principal", help="id of the number to link (names its folder)")
    parser.add_argument("--whatsapp-url", help="WhatsApp Web address (default: the real site)")
    parser.add_argument("--simulator", action="store_true",
                        help="start the bundled WhatsApp Web simulator and use it: try ZapPool with no phone")
    parser.add_argument("--browser", help="path of the Chromium, Chrome or Edge executable to use")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def print_qr(code: str) -> None:
    """Draw a login code in the terminal, for a phone to scan."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(code)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    print(out.getvalue(), flush=True)


def show(event: ClientEvent) -> None:
    """Tell the person at the terminal what happened."""
    if event.name == "qr":
        print("Escaneie com o WhatsApp do celular (Aparelhos conectados > Conectar um aparelho):", flush=True)
        print_qr(event.data["code"])
    elif event.name == "ready":
        print(f"Conectado ✓ Telefone: {event.data['phoneNumber']}", flush=True)
    elif event.name == "message":
        msg = event.data["message"]
        print(f"Mensagem de {msg['from']}: {msg.get('body') or msg.get('caption') or '[' + str(msg['type']) + ']'}",
              flush=True)
    elif event.name == "disconnected":
        print(f"Desconectado ({event.data['reason']})", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl+C or SIGTERM."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings(browser_path=args.browser)
    if args.data:
        settings.data_dir = args.data.resolve()
    simulator = None
    if args.simulator:
        from tests.wasim import SimServer  # shipped with the project for demos and tests

        simulator = SimServer(port=0).start()
        settings.whatsapp_url = simulator.url
        print(f"Simulador do WhatsApp Web: {simulator.url}  — celular simulado: {simulator.url}_sim/phone",
              flush=True)
    elif args.whatsapp_url:
        settings.whatsapp_url = args.whatsapp_url

    # The handler only records the signal: taking a lock inside a signal handler (Event.set) can deadlock.
    received: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    runtime = EngineRuntime(settings)
    client = WhatsAppClient(args.client_id, runtime, settings)
    client.subscribe(show)
    try:
        print("Inicializando...", flush=True)
        client.initialize()
        while not received:
            time.sleep(0.2)
    except ZapPoolError as exc:
        print(f"Erro: {exc.message}", file=sys.stderr)
        return 1
    finally:
        print("Encerrando...", flush=True)
        try:
            client.disconnect()
        except ZapPoolError:
            pass
        runtime.stop()
        if simulator is not None:
            simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
