"""The webhook tests' shared pieces (a pytest plugin, see conftest.py): a receiver on a free port, and
WebhookServices made over a folder with a module's fast settings, stopped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from backend.webhooks.service import WebhookService
from bench.webhook_receiver import Receiver


@contextmanager
def webhook_services(folder: Path, defaults: dict[str, Any]) -> Iterator[Callable[..., WebhookService]]:
    """A maker of services over `folder` (`defaults` under each call's options; started unless start=False);
    every one made is stopped on the way out."""
    made: list[WebhookService] = []

    def make(start: bool = True, **options: Any) -> WebhookService:
        service = WebhookService.in_folder(folder, **{**defaults, **options})
        made.append(service)
        if start:
            service.start()
        return service

    try:
        yield make
    finally:
        for service in made:
            service.stop(timeout=1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started receiver on a free port."""
    server = Receiver()
    yield server
    server.close()
