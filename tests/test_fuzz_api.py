"""Schemathesis against /openapi.json: generated requests, valid and not, to a real server on the simulator.

Every operation in the document is called with cases Hypothesis derives from its schemas, with a valid API key,
and each answer must be no 5xx, a documented status, the documented content type and body shape, and a 4xx for
input the document says is invalid. The number of cases is bounded so CI stays fast: 25 per operation, 1,870
HTTP requests (`-p bench.fuzz_count` counts them; figures and times in docs/RELIABILITY.md, "Bad input");
`ZAPOOL_FUZZ_EXAMPLES=100` runs 4,720.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from backend.api.openapi import build_document
from backend.api.server import ApiServer
from backend.auth.service import AuthService
from backend.config import Settings
from backend.webhooks.service import WebhookService
from tests.api_support import FAST_SCRYPT, api_app, shut_down
from tests.conftest import running_pool

FUZZ_EXAMPLES = int(os.environ.get("ZAPOOL_FUZZ_EXAMPLES", "25"))

schema = schemathesis.openapi.from_dict(build_document())


@pytest.fixture(scope="module")
def server(runtime, sim_server, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """ZapPool's API as app.py builds it (webhooks included) over a pool of at most 2 numbers on the simulator."""
    data = tmp_path_factory.mktemp("fuzz") / "dados"
    pool = running_pool(Settings(data_dir=data, whatsapp_url=sim_server.url, max_clients=2, load_timeout_s=20,
                                 call_timeout_s=20), runtime)
    webhooks = WebhookService.in_folder(data, http_timeout_s=2)
    webhooks.start()
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password("senha-forte-123")
    _, key = auth.create_api_key("fuzz", rate_per_minute=100_000)  # 1,870 requests in a minute or two
    api = ApiServer(api_app(pool, auth, webhooks), auth, port=0).start()
    yield api.url, key
    shut_down(api, pool)
    webhooks.stop()


@schema.exclude(path="/events").exclude(path="/sessions/restore").parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_5xx_and_every_answer_as_documented(case, server):
    base_url, key = server
    # positive_data_acceptance (schema-valid input must be accepted) does not hold here by design: the
    # document cannot say which strings are real phone numbers, client ids or webhook URLs, and those are
    # refused with a 4xx that names the field.
    case.call_and_validate(base_url=base_url, headers={"X-Api-Key": key}, excluded_checks=[positive_data_acceptance])
