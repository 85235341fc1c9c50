"""Property-based tests of the JSON API from its own OpenAPI document (schemathesis 4):
whatever a client sends, valid or not, the server answers with a documented status and
never a 5xx.

No request reaches the network: the resolver is replaced by one that answers with a
private address, which the SSRF guard refuses before connecting (and timeouts are short).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stand_in import PhraseModel

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from unspin import fetch  # noqa: E402
from unspin.config import load_settings  # noqa: E402
from unspin.server import create_app  # noqa: E402

APP = create_app(
    load_settings(
        connect_timeout=0.2,
        read_timeout=0.2,
        server_request_timeout=20.0,
        allow_private_urls=False,
        model_dir=None,
    ),
    model=PhraseModel(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fetch, "_resolve", lambda host, port: ["10.255.255.1"])
        yield


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_follows_its_schema_and_never_fails(case: schemathesis.Case) -> None:
    response = case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
    assert response.status_code < 500, response.text
