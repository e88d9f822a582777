"""Schema-driven fuzzing of every API operation (schemathesis strategies, run in-process).

Valid and invalid requests, with a valid key, against seeded data: no 5xx (except the
documented generic 500 of an SMTP failure and 503 "not configured"), and every
response conforms to the schema the app publishes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance
from schemathesis.core.result import Ok

from sendwarden.api.app import API_PREFIX, create_app
from sendwarden.api.errors import GENERIC_500
from sendwarden.storage.models import Reply
from tests.support import databases
from tests.support.api_helpers import make_campaign, make_lead, send
from tests.support.harness import Tenant, create_tenant, make_settings, smtp_settings
from tests.support.smtp_server import FaultyServer

MAX_EXAMPLES = 25
SEND_PATH = f"{API_PREFIX}/outreach/send"
BASE_URL = "http://testserver"


class Target:
    """The app, its client and a seeded tenant, driven from synchronous hypothesis code."""

    def __init__(self, runner: asyncio.Runner, db_url: str, smtp: FaultyServer) -> None:
        self.runner = runner
        self.app = create_app(
            make_settings(
                db_url,
                **smtp_settings(smtp),
            )
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
            base_url=BASE_URL,
        )
        self.tenant: Tenant = runner.run(self._seed())

    async def _seed(self) -> Tenant:
        """Rows with small ids, so that generated ids (which favour 1) often hit real data."""
        state = self.app.state.sendwarden
        alice = await create_tenant(state.db, "alice")
        campaign = await make_campaign(self.client, alice.headers)
        lead = await make_lead(self.client, alice.headers, campaign, "editor@blog.example")
        r = await send(self.client, alice.headers, campaign, lead)
        assert r.status_code == 200, r.text
        async with state.db.transaction() as session:
            session.add(
                Reply(
                    user_id=alice.user_id,
                    attempt_id=r.json()["id"],
                    campaign_id=campaign,
                    lead_id=lead,
                    text="Sounds good",
                    classification="interested",
                    auto_classification="interested",
                )
            )
        await self.client.post(
            f"{API_PREFIX}/suppression",
            json={"email": "gone@blog.example"},
            headers=alice.headers,
        )
        return alice

    def request(self, kwargs: dict[str, Any]) -> httpx.Response:
        return self.runner.run(
            self.client.request(
                kwargs["method"],
                kwargs["url"],
                headers=kwargs.get("headers"),
                params=kwargs.get("params") or None,
                cookies=kwargs.get("cookies") or None,
                json=kwargs.get("json"),
                content=kwargs.get("data"),
            )
        )

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.app.state.sendwarden.close())


def acceptable_server_error(path: str, response: httpx.Response) -> bool:
    """The two 5xx the API documents: SMTP failure (generic 500) and 'not configured' (503)."""
    if response.status_code == 500:
        return path == SEND_PATH and response.json() == GENERIC_500
    if response.status_code == 503:
        return "not configured" in response.json().get("detail", "")
    return False


def fuzz_operation(target: Target, operation: Any, mode: GenerationMode) -> int:
    ran = 0
    auth = {"Authorization": f"Bearer {target.tenant.key}"}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
        response = target.request(kwargs)
        if response.status_code >= 500:
            assert acceptable_server_error(operation.path, response), (
                f"{operation.method.upper()} {operation.path}: {response.status_code}"
                f" {response.text[:300]}\n{case.as_curl_command()}"
            )
        assert "Traceback" not in response.text
        case.validate_response(
            response, checks=[response_schema_conformance, content_type_conformance]
        )

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body has no invalid variant to generate.
        assert mode == GenerationMode.NEGATIVE, f"{operation.label}: no valid case generated"
    return ran


def test_fuzz_every_operation_with_a_valid_key(tmp_path: Path, smtp: FaultyServer) -> None:
    started = time.perf_counter()
    with asyncio.Runner() as runner:
        target = Target(runner, databases.fresh_sqlite(tmp_path), smtp)
        try:
            schema = schemathesis.openapi.from_dict(target.app.openapi())
            operations = []
            for result in schema.get_all_operations():
                assert isinstance(result, Ok), result
                operations.append(result.ok())
            counts: dict[str, int] = {}
            for operation in operations:
                label = f"{operation.method.upper()} {operation.path}"
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    counts[f"{label} [{mode.value}]"] = fuzz_operation(target, operation, mode)
        finally:
            target.close()
    total = sum(counts.values())
    for label, count in counts.items():
        print(f"  {count:3d}  {label}")
    print(
        f"fuzz: {total} cases over {len(operations)} operations"
        f" in {time.perf_counter() - started:.1f} s, 0 failures"
    )
    assert len(operations) >= 20 and total >= len(operations) * 2
