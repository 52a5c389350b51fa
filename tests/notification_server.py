"""A desktop's notification service, for tests: a private D-Bus session bus (Debian's dbus-daemon) with an
org.freedesktop.Notifications server on it, as GNOME's or KDE's. It records every notification it is asked to
show, and clicks one on demand (the ActionInvoked signal a real desktop sends when the person clicks).

Point the code under test at it with DBUS_SESSION_BUS_ADDRESS = server.address.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Self

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method, signal as dbus_signal

from tests.conftest import wait_until

DBusStrings = Annotated[list[str], DBusSignature("as")]
DBusInt32 = Annotated[int, DBusSignature("i")]
PATH, NAME = "/org/freedesktop/Notifications", "org.freedesktop.Notifications"


@dataclass
class Shown:
    """One notification as the service received it."""

    id: int
    app_name: str
    icon: str
    title: str
    body: str
    actions: list[str]
    hints: dict[str, Any] = field(default_factory=dict)


class _Notifications(ServiceInterface):
    """The service's D-Bus interface (the Desktop Notifications Specification, version 1.2)."""

    def __init__(self) -> None:
        super().__init__(NAME)
        self.shown: list[Shown] = []

    @method()
    def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr, summary: DBusStr,
               body: DBusStr, actions: DBusStrings, hints: DBusDict, expire_timeout: DBusInt32) -> DBusUInt32:
        self.shown.append(Shown(len(self.shown) + 1, app_name, app_icon, summary, body, list(actions),
                                {k: v.value for k, v in hints.items()}))
        return len(self.shown)

    @method()
    def GetCapabilities(self) -> DBusStrings:
        return ["actions", "body", "body-markup"]

    @method()
    def GetServerInformation(self) -> Annotated[list, DBusSignature("ssss")]:
        return ["zapool-tests", "ZapPool", "1", "1.2"]

    @method()
    def CloseNotification(self, id: DBusUInt32):  # dbus-fast: no annotation, no reply
        return None

    @dbus_signal()
    def ActionInvoked(self, id: DBusUInt32, action_key: DBusStr) -> Annotated[list, DBusSignature("us")]:
        return [id, action_key]


class NotificationServer:
    """dbus-daemon plus the service, on a loop thread; a context manager."""

    def __init__(self) -> None:
        self.address = ""
        self._daemon: subprocess.Popen | None = None
        self._bus: MessageBus | None = None
        self._loop = asyncio.new_event_loop()
        self._service = _Notifications()

    @staticmethod
    def available() -> bool:
        """Whether this machine has dbus-daemon."""
        return shutil.which("dbus-daemon") is not None

    def __enter__(self) -> Self:
        self._daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                        stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.address = self._daemon.stdout.readline().strip()
        threading.Thread(target=self._loop.run_forever, name="test-notifications", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(15)
        return self

    async def _serve(self) -> None:
        self._bus = await MessageBus(bus_address=self.address).connect()
        self._bus.export(PATH, self._service)
        await self._bus.request_name(NAME)

    async def _leave(self) -> None:
        self._bus.disconnect()
        await self._bus.wait_for_disconnect()

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._leave(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._daemon is not None:
            os.killpg(self._daemon.pid, signal.SIGTERM)
            self._daemon.wait(10)

    def shown(self, count: int = 1, timeout: float = 15) -> list[Shown]:
        """The notifications shown so far, once there are at least `count`."""
        wait_until(lambda: len(self._service.shown) >= count, timeout=timeout, what=f"{count} notification(s)")
        return list(self._service.shown)

    def click(self, shown: Shown) -> None:
        """The person clicks the notification's body."""
        self._loop.call_soon_threadsafe(self._service.ActionInvoked, shown.id, "default")
